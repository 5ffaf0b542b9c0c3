/** Parsing of numeric command-line option values, with errors that name the flag. */

export function intOption(value: string, flag: string, min = 0): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < min) throw new Error(`${flag} must be an integer ≥ ${min}, got '${value}'`);
  return n;
}

export function numberOption(value: string, flag: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new Error(`${flag} must be a number, got '${value}'`);
  return n;
}
