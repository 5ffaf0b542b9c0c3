/**
 * Node-only file IO for saved flows (serialize.ts holds the format; the browser reads the same
 * JSON with fetch + JSON.parse). Writes are atomic: the text goes to a temporary file in the
 * same folder, which is then renamed over the target, so a crash never leaves half a model.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeFileAtomic as writeFileAtomicSync } from '../runs/atomic-file.ts';
import type { FlowComponent } from './module.ts';
import { loadFlow, saveFlow, type SavedFlow } from './serialize.ts';

/** Atomic file writes (temp file, fsync, rename): the project's one implementation. */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  writeFileAtomicSync(path, text);
}

/**
 * Saves a component (or already-saved data) as JSON.
 *
 * @example
 *   await writeFlowFile('runs/a/cinn.json', t);
 */
export async function writeFlowFile(path: string, component: FlowComponent | SavedFlow): Promise<void> {
  const saved = 'weights' in component && Array.isArray(component.weights) ? component as SavedFlow : saveFlow(component as FlowComponent);
  await writeFileAtomic(path, JSON.stringify(saved));
}

/**
 * Loads a component saved by `writeFlowFile`.
 *
 * @example
 *   const t = await readFlowFile<ConditionalINN>('runs/a/cinn.json', 'ConditionalINN');
 */
export async function readFlowFile<T extends FlowComponent = FlowComponent>(path: string, expectedClass?: string): Promise<T> {
  const text = await readFile(path, 'utf8');
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new Error(`readFlowFile: ${path} is not JSON (${(error as Error).message})`);
  }
  return loadFlow<T>(data, expectedClass);
}
