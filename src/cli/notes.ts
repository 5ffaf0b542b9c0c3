/**
 * Prints the notes that data loading and model opening emit (grey images converted to RGB,
 * images resized, a model without a card's value range, …) as `note: …` lines on stderr, while
 * `fn` runs. Every command that opens data or a model under study uses it, so a user sees the
 * same assumptions whether they train or analyse.
 */
import { onByomNote } from '../pipeline/external-model.ts';

export async function withNotesPrinted<T>(fn: () => Promise<T>): Promise<T> {
  const off = onByomNote((note) => process.stderr.write(`note: ${note.message}\n`));
  try {
    return await fn();
  } finally {
    off();
  }
}
