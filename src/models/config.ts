/**
 * Configs as data for the models and trainers of src/models and src/train: a typed default beside
 * each class, a partial override merged over it, unknown keys and wrong types rejected with a
 * message naming the class and the dotted key.
 */

/** Every field optional, recursively (arrays are given whole). */
export type DeepPartial<T> = {
  [K in keyof T]?: T[K] extends readonly unknown[] ? T[K] : T[K] extends object ? DeepPartial<T[K]> : T[K];
};

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  return Array.isArray(v) ? 'array' : typeof v;
}

function merge(defaults: Record<string, unknown>, overrides: Record<string, unknown>, path: string, where: string): Record<string, unknown> {
  const out = structuredClone(defaults);
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    const name = path ? `${path}.${key}` : key;
    if (!Object.prototype.hasOwnProperty.call(defaults, key)) {
      throw new Error(`${where}: unknown config key '${name}' (known: ${Object.keys(defaults).join(', ')})`);
    }
    const expected = kindOf(defaults[key]);
    const got = kindOf(value);
    if (expected !== got) throw new Error(`${where}: config key '${name}' must be ${expected}, got ${got} (${JSON.stringify(value)})`);
    if (got === 'number' && !Number.isFinite(value as number)) throw new Error(`${where}: config key '${name}' must be finite, got ${String(value)}`);
    out[key] = got === 'object'
      ? merge(defaults[key] as Record<string, unknown>, value as Record<string, unknown>, name, where)
      : structuredClone(value);
  }
  return out;
}

/**
 * Defaults merged with overrides.
 *
 * @example
 *   resolveModelConfig(DEFAULT_AUTOENCODER_CONFIG, { zDim: 32 }, 'Autoencoder')
 */
export function resolveModelConfig<T extends object>(defaults: T, overrides: DeepPartial<T> | undefined, where: string): T {
  return merge(defaults as Record<string, unknown>, (overrides ?? {}) as Record<string, unknown>, '', where) as T;
}
