/**
 * The allowed values of a config's numbers, declared beside each config's defaults and checked
 * before any model or data is loaded: whether a key is an integer and its range. A bad value is
 * a ConfigError naming the dotted key, the value and the allowed range, e.g.
 *   config key 'train.steps': must be an integer from 1 to 10000000, got -5
 * Array elements are addressed as `key[]` (`model.channels[]`, `squeezenet.fires[][]`).
 */
import { ConfigError, type ConfigValue } from './config.ts';

export interface NumberLimit {
  /** Whole numbers only (counts, sizes, seeds, steps). */
  integer?: boolean;
  /** Smallest allowed value (inclusive unless minExclusive). */
  min?: number;
  minExclusive?: boolean;
  /** Largest allowed value (inclusive unless maxExclusive). */
  max?: number;
  maxExclusive?: boolean;
}

/** Dotted key (with `[]` for array elements) → its limit. */
export type ConfigLimits = Record<string, NumberLimit>;

/** A count of things, at least `min`. */
export const count = (min: number, max = 10_000_000): NumberLimit => ({ integer: true, min, max });
/** A random seed (a 32-bit non-negative integer). */
export const SEED: NumberLimit = { integer: true, min: 0, max: 2 ** 31 - 1 };
/** A positive, finite real (learning rates, scales). */
export const positive = (max = 1e6): NumberLimit => ({ min: 0, minExclusive: true, max });
/** A non-negative real (loss weights). */
export const nonNegative = (max = 1e6): NumberLimit => ({ min: 0, max });
/** Adam's β: 0 ≤ β < 1. */
export const BETA: NumberLimit = { min: 0, max: 1, maxExclusive: true };

export function describeLimit(limit: NumberLimit): string {
  const kind = limit.integer ? 'an integer' : 'a finite number';
  const { min, max } = limit;
  if (min !== undefined && max !== undefined && !limit.minExclusive && !limit.maxExclusive) return `${kind} from ${min} to ${max}`;
  const parts: string[] = [];
  if (min !== undefined) parts.push(`${limit.minExclusive ? '>' : '≥'} ${min}`);
  if (max !== undefined) parts.push(`${limit.maxExclusive ? '<' : '≤'} ${max}`);
  return parts.length ? `${kind} ${parts.join(' and ')}` : kind;
}

function checkNumber(key: string, value: number, limit: NumberLimit): void {
  const ok = Number.isFinite(value)
    && (!limit.integer || Number.isInteger(value))
    && (limit.min === undefined || (limit.minExclusive ? value > limit.min : value >= limit.min))
    && (limit.max === undefined || (limit.maxExclusive ? value < limit.max : value <= limit.max));
  if (!ok) throw new ConfigError(key, `must be ${describeLimit(limit)}, got ${value}`);
}

/** Every numeric leaf of `value` with its dotted key (array elements as `key[]`, shown as `key[i]`). */
export function numericLeaves(value: ConfigValue, path = '', pattern = ''): Array<{ key: string; pattern: string; value: number }> {
  if (typeof value === 'number') return [{ key: path, pattern, value }];
  if (Array.isArray(value)) return value.flatMap((v, i) => numericLeaves(v, `${path}[${i}]`, `${pattern}[]`));
  if (value && typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) => numericLeaves(v, path ? `${path}.${k}` : k, pattern ? `${pattern}.${k}` : k));
  }
  return [];
}

/**
 * Checks every number of `config` that `limits` names. Numbers no limit names must still be
 * finite (mergeConfig checks that when they are set).
 *
 * @example
 *   checkLimits({ train: { steps: -5 } }, { 'train.steps': count(1) })   // throws: must be an integer from 1 to 10000000, got -5
 */
export function checkLimits(config: object, limits: ConfigLimits): void {
  for (const leaf of numericLeaves(config as ConfigValue)) {
    const limit = limits[leaf.pattern];
    if (limit) checkNumber(leaf.key, leaf.value, limit);
    else if (!Number.isFinite(leaf.value)) throw new ConfigError(leaf.key, `must be a finite number, got ${leaf.value}`);
  }
}
