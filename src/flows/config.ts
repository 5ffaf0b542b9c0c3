/**
 * Configs as data: every block has a typed config with defaults beside its class; a user gives a
 * partial config, and `resolveConfig` fills in the defaults, rejecting unknown keys and values
 * of the wrong type with a message that names the block and the key.
 */
import { mergeConfigFor } from '../config/config.ts';
import type { Json, JsonObject } from './module.ts';

/** A config with every field optional, recursively (arrays are given whole). */
export type DeepPartial<T> = {
  [K in keyof T]?: T[K] extends readonly unknown[] ? T[K] : T[K] extends object | null ? DeepPartial<T[K]> | T[K] : T[K];
};

/**
 * Defaults merged with overrides. Unknown keys and wrong types throw.
 *
 * @example
 *   const cfg = resolveConfig(DEFAULT_CINN_CONFIG, { dim: 64, conditionShape: [10] }, 'ConditionalINN');
 */
export function resolveConfig<T extends object>(defaults: T, overrides: NoInfer<DeepPartial<T>> | undefined, where: string): T {
  return mergeConfigFor(defaults, overrides, where);
}

/** Throws unless `value` is an integer ≥ `min`. */
export function requireInteger(value: number, min: number, name: string, where: string): void {
  if (!Number.isInteger(value) || value < min) throw new Error(`${where}: ${name} must be an integer ≥ ${min}, got ${value}`);
}

/** A config object as JSON (the configs here hold only JSON values). */
export function toJson<T extends object>(config: T): JsonObject {
  return structuredClone(config) as unknown as { [key: string]: Json };
}
