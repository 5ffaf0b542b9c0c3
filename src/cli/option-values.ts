/** Parsing of numeric command-line option values, with errors that name the flag. */

export function intOption(value: string, flag: string, min = 0, max = 1e9): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < min || n > max) throw new Error(`${flag} must be an integer from ${min} to ${max}, got '${value}'`);
  return n;
}

export function numberOption(value: string, flag: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new Error(`${flag} must be a number, got '${value}'`);
  return n;
}
