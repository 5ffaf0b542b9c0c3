/**
 * Typed configs as plain data (after minGPT's `get_default_config`): every class keeps its
 * defaults beside it, presets are partial overrides, config files are merged left to right, and
 * command-line overrides use dotted keys (`--cinn.blocks=12`). Anything that does not match the
 * defaults' shape — an unknown key, a wrong type — is an error naming the dotted key.
 */

export type ConfigValue = number | string | boolean | null | ConfigValue[] | ConfigObject;
export interface ConfigObject { [key: string]: ConfigValue }

/** Makes every nested field optional: the shape of presets, files and overrides. */
export type DeepPartial<T> = T extends Array<infer U> ? Array<U> : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;

export class ConfigError extends Error {
  constructor(readonly key: string, message: string) {
    super(key && !message.includes(`config key '${key}'`) ? `config key '${key}': ${message}` : message);
    this.name = 'ConfigError';
  }
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function isPlainObject(value: unknown): value is ConfigObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Deep-merges `patch` into a copy of `base`. Every key of `patch` must exist in `base` with a
 * value of the same kind; a `null` default accepts any value (an optional setting).
 *
 * @example
 *   mergeConfig({ lr: 1e-3, net: { width: 64 } }, { net: { width: 128 } })  // { lr: 1e-3, net: { width: 128 } }
 */
export function mergeConfig<T>(base: T, patch: DeepPartial<T> | ConfigObject, path = ''): T {
  if (!isPlainObject(base)) throw new ConfigError(path, 'is not a section');
  if (!isPlainObject(patch)) throw new ConfigError(path, `expected a section (object), got ${kindOf(patch)}`);
  const result: ConfigObject = { ...(base as ConfigObject) };
  for (const [key, value] of Object.entries(patch)) {
    const dotted = path ? `${path}.${key}` : key;
    if (!(key in result)) {
      const known = Object.keys(result).map((k) => (path ? `${path}.${k}` : k));
      throw new ConfigError(dotted, `unknown key; valid keys here: ${known.join(', ')}`);
    }
    const current = result[key]!;
    if (value === undefined) continue;
    if (isPlainObject(current)) {
      result[key] = mergeConfig(current, value as ConfigObject, dotted) as ConfigValue;
    } else if (current === null || kindOf(current) === kindOf(value)) {
      if (typeof value === 'number' && !Number.isFinite(value)) throw new ConfigError(dotted, `must be a finite number, got ${value}`);
      result[key] = structuredClone(value as ConfigValue);
    } else {
      throw new ConfigError(dotted, `expected ${kindOf(current)}, got ${kindOf(value)} (${JSON.stringify(value)})`);
    }
  }
  return result as T;
}

/**
 * mergeConfig for a class's constructor: errors are prefixed with the class name.
 *
 * @example
 *   mergeConfigFor(DEFAULT_AUTOENCODER_CONFIG, { zDim: 32 }, 'Autoencoder')
 */
export function mergeConfigFor<T>(defaults: T, overrides: unknown, where: string): T {
  try {
    return mergeConfig(structuredClone(defaults), (overrides ?? {}) as ConfigObject);
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError(error.key, `${where}: ${error.message}`);
    throw error;
  }
}

/** Parses the text after `=` in a dotted override, guided by the default's kind. */
function parseOverrideValue(dotted: string, raw: string, current: ConfigValue): ConfigValue {
  switch (kindOf(current)) {
    case 'number': {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n)) throw new ConfigError(dotted, `expected a number, got '${raw}'`);
      return n;
    }
    case 'boolean':
      if (raw === 'true' || raw === '1') return true;
      if (raw === 'false' || raw === '0') return false;
      throw new ConfigError(dotted, `expected true or false, got '${raw}'`);
    case 'string':
      return raw;
    default:
      try {
        return JSON.parse(raw) as ConfigValue;
      } catch {
        throw new ConfigError(dotted, `expected JSON (${kindOf(current)}), got '${raw}'`);
      }
  }
}

/**
 * Applies `key.sub=value` overrides (a leading `--` is accepted).
 *
 * @example
 *   applyOverrides(config, ['--cinn.blocks=12', 'train.lr=1e-4'])
 */
export function applyOverrides<T>(config: T, overrides: string[]): T {
  let result = config;
  for (const override of overrides) {
    const text = override.replace(/^--/, '');
    const eq = text.indexOf('=');
    if (eq <= 0) throw new ConfigError('', `override '${override}' is not of the form key.sub=value`);
    const dotted = text.slice(0, eq);
    const raw = text.slice(eq + 1);
    const keys = dotted.split('.');
    let cursor: ConfigValue = result as ConfigValue;
    for (let i = 0; i < keys.length; i++) {
      const prefix = keys.slice(0, i + 1).join('.');
      if (!isPlainObject(cursor) || !(keys[i]! in cursor)) {
        const here = isPlainObject(cursor) ? Object.keys(cursor).map((k) => (i ? `${keys.slice(0, i).join('.')}.${k}` : k)) : [];
        throw new ConfigError(prefix, `unknown key${here.length ? `; valid keys here: ${here.join(', ')}` : ''}`);
      }
      cursor = cursor[keys[i]!]!;
    }
    if (isPlainObject(cursor)) throw new ConfigError(dotted, 'is a section; set one of its keys');
    const value = parseOverrideValue(dotted, raw, cursor);
    const patch = keys.reduceRight<ConfigValue>((inner, key) => ({ [key]: inner }), value) as ConfigObject;
    result = mergeConfig(result, patch);
  }
  return result;
}

/** Keys that have moved: old dotted key → its new dotted key (e.g. `steps` → `train.steps`). */
export type MovedKeys = Record<string, string>;

/**
 * A saved config in an older shape, with each moved key put where it now lives (a run folder
 * written before the keys moved still resumes and loads).
 *
 * @example
 *   moveKeys({ steps: 40, cinn: {} }, { steps: 'train.steps' })   // { cinn: {}, train: { steps: 40 } }
 */
export function moveKeys<T>(config: T, moved: MovedKeys): T {
  if (!isPlainObject(config)) return config;
  const result = structuredClone(config) as ConfigObject;
  for (const [from, to] of Object.entries(moved)) {
    if (from.includes('.') || !(from in result)) continue;
    const value = result[from]!;
    delete result[from];
    const keys = to.split('.');
    let cursor = result;
    for (const key of keys.slice(0, -1)) {
      if (!isPlainObject(cursor[key])) cursor[key] = {};
      cursor = cursor[key] as ConfigObject;
    }
    cursor[keys.at(-1)!] ??= value;
  }
  return result as T;
}

/** Runs `fn`; an unknown key that has moved becomes an error naming its new spelling. */
export function withMovedKeys<T>(moved: MovedKeys, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const to = moved[error.key];
    if (to) throw new ConfigError(error.key, `config key '${error.key}' is now '${to}' (on the command line: --${to}=…)`);
    throw error;
  }
}

/**
 * Resolves a config: defaults ← preset ← each file (left to right) ← dotted overrides.
 *
 * @example
 *   resolveConfig(DEFAULTS, { preset: PRESETS.tiny, files: [fromDisk], overrides: ['--train.steps=10'] })
 */
export function resolveConfig<T>(defaults: T, sources: { preset?: DeepPartial<T>; files?: ConfigObject[]; overrides?: string[]; moved?: MovedKeys } = {}): T {
  return withMovedKeys(sources.moved ?? {}, () => {
    let config = structuredClone(defaults);
    if (sources.preset) config = mergeConfig(config, sources.preset);
    for (const file of sources.files ?? []) config = mergeConfig(config, file);
    return applyOverrides(config, sources.overrides ?? []);
  });
}
