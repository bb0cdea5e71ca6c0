// Command-line pieces shared by the benchmark programs.

/** Bad command line; the message is followed by the usage text. */
export class UsageError extends Error {}

/** --help: print the usage text and nothing else. */
export class HelpRequested extends UsageError {}

/** A flag's value as a finite number above zero. */
export function positiveNumber(flag: string, text: string): number {
  const value = Number(text);
  if (!(value > 0) || !Number.isFinite(value)) throw new UsageError(`${flag} must be a positive number, not ${text}`);
  return value;
}

/** A flag's value as a finite number, zero or more. */
export function nonNegativeNumber(flag: string, text: string): number {
  const value = Number(text);
  if (!(value >= 0) || !Number.isFinite(value)) throw new UsageError(`${flag} must be zero or more, not ${text}`);
  return value;
}

/** A flag's value as a whole number, one or more. */
export function positiveInteger(flag: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new UsageError(`${flag} must be a positive integer, not ${text}`);
  return value;
}

/** A flag's value as a whole number, zero or more. */
export function nonNegativeInteger(flag: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) throw new UsageError(`${flag} must be zero or more, not ${text}`);
  return value;
}
