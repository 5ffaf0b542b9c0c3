/**
 * Configs as data for the models and trainers of src/models and src/train: a typed default beside
 * each class, a partial override merged over it, unknown keys and wrong types rejected with a
 * message naming the class and the dotted key (the rules of src/config/config.ts).
 */
import { mergeConfigFor } from '../config/config.ts';

/** Every field optional, recursively (arrays are given whole). */
export type DeepPartial<T> = {
  [K in keyof T]?: T[K] extends readonly unknown[] ? T[K] : T[K] extends object ? DeepPartial<T[K]> : T[K];
};

/**
 * Defaults merged with overrides.
 *
 * @example
 *   resolveModelConfig(DEFAULT_AUTOENCODER_CONFIG, { zDim: 32 }, 'Autoencoder')
 */
export function resolveModelConfig<T extends object>(defaults: T, overrides: DeepPartial<T> | undefined, where: string): T {
  return mergeConfigFor(defaults, overrides, where);
}
