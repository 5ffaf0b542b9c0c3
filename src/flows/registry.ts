/**
 * The class registry behind save/load: every component class registers a factory under its
 * `className`, so a saved `{className, config, weights}` can be rebuilt without knowing its
 * type in advance (containers rebuild their children the same way).
 */
import type { FlowComponent, JsonObject } from './module.ts';
import type { WeightSource } from './weight-source.ts';

/** Builds a component from its config, taking weights from `source` (fresh or saved). */
export type ComponentFactory = (config: JsonObject, source: WeightSource) => FlowComponent;

const factories = new Map<string, ComponentFactory>();

/**
 * Registers a class for loading. Registering the same name twice with a different factory is
 * an error (two classes would claim one file format).
 *
 * @example
 *   registerFlowClass('Shuffle', (config, source) => new Shuffle(config as ShuffleConfig, source));
 */
export function registerFlowClass(className: string, factory: ComponentFactory): void {
  const existing = factories.get(className);
  if (existing && existing !== factory) throw new Error(`registerFlowClass: '${className}' is already registered`);
  factories.set(className, factory);
}

/** Builds a registered class. Throws, listing the known names, for an unknown one. */
export function buildFlowComponent(className: string, config: JsonObject, source: WeightSource): FlowComponent {
  const factory = factories.get(className);
  if (!factory) {
    throw new Error(`unknown flow class '${className}' (registered: ${[...factories.keys()].sort().join(', ') || 'none'})`);
  }
  return factory(config, source);
}

/** Names of the registered classes. */
export function registeredFlowClasses(): string[] {
  return [...factories.keys()].sort();
}
