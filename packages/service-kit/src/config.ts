import { z } from 'zod';

/** Raised when the environment does not describe a valid configuration; its message is one line. */
export class ConfigurationError extends Error {
  readonly code = 'invalid_configuration';
}

/** Parses environment variables with a zod object schema, or throws one line naming every bad variable. */
export function parseEnvironment<Schema extends z.ZodObject>(
  schema: Schema,
  environment: Record<string, string | undefined>,
): z.output<Schema> {
  const parsed = schema.safeParse(environment);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const variable = String(issue.path[0] ?? '?');
    const value = environment[variable];
    const saw = value === undefined ? 'missing' : `got "${redact(variable, value)}"`;
    return `${variable}: ${issue.message} (${saw})`;
  });
  throw new ConfigurationError(`invalid configuration: ${problems.join('; ')}`);
}

// A URL may carry a password; a variable named like a secret is never echoed.
function redact(variable: string, value: string): string {
  if (/PASSWORD|SECRET|TOKEN|KEY/i.test(variable)) return '***';
  return value.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@');
}

/** An integer environment variable within bounds, with a default. */
export const integerVariable = (defaultValue: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce.number().int().min(min).max(max).default(defaultValue);

function hasProtocol(value: string, protocols: string[]): boolean {
  try {
    return protocols.includes(new URL(value).protocol.replace(/:$/, ''));
  } catch {
    return false;
  }
}

/** A URL environment variable whose scheme is one of `protocols`, with a default. */
export const urlVariable = (defaultValue: string, protocols: string[]) =>
  z
    .string()
    .default(defaultValue)
    .refine((value) => hasProtocol(value, protocols), `must be a ${protocols.join(' or ')} URL`);

/** A URL environment variable whose scheme is one of `protocols`, or nothing (undefined when unset or empty). */
export const optionalUrlVariable = (protocols: string[]) =>
  z
    .string()
    .optional()
    // A ConfigMap writes an unset value as an empty string.
    .transform((value) => (value === '' ? undefined : value))
    .refine((value) => value === undefined || hasProtocol(value, protocols), `must be a ${protocols.join(' or ')} URL`);

/** A boolean environment variable written as true/false/1/0. */
export const booleanVariable = (defaultValue: boolean) =>
  z
    .enum(['true', 'false', '1', '0'])
    .default(defaultValue ? 'true' : 'false')
    .transform((value) => value === 'true' || value === '1');

export const logLevelVariable = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info');
