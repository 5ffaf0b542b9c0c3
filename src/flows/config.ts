/**
 * Configs as data: every block has a typed config with defaults beside its class; a user gives a
 * partial config, and `resolveConfig` fills in the defaults, rejecting unknown keys and values
 * of the wrong type with a message that names the block and the key.
 */
import type { Json, JsonObject } from './module.ts';

/** A config with every field optional, recursively (arrays are given whole). */
export type DeepPartial<T> = {
  [K in keyof T]?: T[K] extends readonly unknown[] ? T[K] : T[K] extends object | null ? DeepPartial<T[K]> | T[K] : T[K];
};

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function resolveInto(defaults: Record<string, unknown>, overrides: Record<string, unknown>, path: string, where: string): Record<string, unknown> {
  const out: Record<string, unknown> = structuredClone(defaults);
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    const name = path === '' ? key : `${path}.${key}`;
    if (!Object.prototype.hasOwnProperty.call(defaults, key)) {
      throw new Error(`${where}: unknown config key '${name}' (known: ${Object.keys(defaults).map((k) => (path === '' ? k : `${path}.${k}`)).join(', ')})`);
    }
    const base = defaults[key];
    const expected = kindOf(base);
    const got = kindOf(value);
    // A null default marks an optional field ("derive it"): the class validates what comes.
    if (expected === 'null') {
      out[key] = structuredClone(value);
      continue;
    }
    if (got === 'null') {
      throw new Error(`${where}: config key '${name}' must be ${expected}, got null`);
    }
    if (expected !== got) {
      throw new Error(`${where}: config key '${name}' must be ${expected}, got ${got} (${JSON.stringify(value)})`);
    }
    if (expected === 'number' && !Number.isFinite(value as number)) {
      throw new Error(`${where}: config key '${name}' must be a finite number, got ${String(value)}`);
    }
    out[key] = expected === 'object'
      ? resolveInto(base as Record<string, unknown>, value as Record<string, unknown>, name, where)
      : structuredClone(value);
  }
  return out;
}

/**
 * Defaults merged with overrides. Unknown keys and wrong types throw.
 *
 * @example
 *   const cfg = resolveConfig(DEFAULT_CINN_CONFIG, { dim: 64, conditionShape: [10] }, 'ConditionalINN');
 */
export function resolveConfig<T extends object>(defaults: T, overrides: NoInfer<DeepPartial<T>> | undefined, where: string): T {
  return resolveInto(defaults as Record<string, unknown>, (overrides ?? {}) as Record<string, unknown>, '', where) as T;
}

/** Throws unless `value` is an integer ≥ `min`. */
export function requireInteger(value: number, min: number, name: string, where: string): void {
  if (!Number.isInteger(value) || value < min) throw new Error(`${where}: ${name} must be an integer ≥ ${min}, got ${value}`);
}

/** A config object as JSON (the configs here hold only JSON values). */
export function toJson<T extends object>(config: T): JsonObject {
  return structuredClone(config) as unknown as { [key: string]: Json };
}
