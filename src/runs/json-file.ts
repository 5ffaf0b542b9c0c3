/** Reads a JSON file a user may have edited or broken; errors name the file (Node only). */
import { readFileSync } from 'node:fs';

export function readJsonFile<T = unknown>(path: string, what = 'file'): T {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`${what} ${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new Error(`${what} ${path} is not valid JSON (${error instanceof Error ? error.message : String(error)})`);
  }
}
