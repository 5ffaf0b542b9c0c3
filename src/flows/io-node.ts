/**
 * Node-only file IO for saved flows (serialize.ts holds the format; the browser reads the same
 * JSON with fetch + JSON.parse). Writes are atomic: the text goes to a temporary file in the
 * same folder, which is then renamed over the target, so a crash never leaves half a model.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { FlowComponent } from './module.ts';
import { loadFlow, saveFlow, type SavedFlow } from './serialize.ts';

/**
 * Writes `text` to `path` atomically (temp file + rename), creating the folder if needed.
 *
 * @example
 *   await writeFileAtomic('runs/a/config.json', JSON.stringify(config, null, 2));
 */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  const folder = dirname(path);
  await mkdir(folder, { recursive: true });
  const temp = join(folder, `.${basename(path)}.${process.pid}.${Date.now()}.${Math.random().toString(36).slice(2)}.tmp`);
  try {
    await writeFile(temp, text, { encoding: 'utf8', flush: true });
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
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
