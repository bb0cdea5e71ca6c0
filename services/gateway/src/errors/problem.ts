import { z } from 'zod';

/** Media type of every error response (RFC 9457). */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** One bad input field: where it is and what is wrong with it. */
export const fieldErrorSchema = z
  .strictObject({
    path: z.string().describe('The field, dotted for nested fields (items.0.quantity); "body" for the body itself.'),
    message: z.string(),
  })
  .meta({ id: 'FieldError' });
export type FieldError = z.infer<typeof fieldErrorSchema>;

/**
 * An RFC 9457 problem details object. `requestId` and `errors` are extension members:
 * the id to quote when reporting the error, and the fields that were rejected.
 */
export const problemSchema = z
  .strictObject({
    type: z.string().describe('A URI naming the kind of problem.'),
    title: z.string(),
    status: z.number().int().min(400).max(599),
    detail: z.string(),
    instance: z.string().optional(),
    requestId: z.string().optional(),
    errors: z.array(fieldErrorSchema).optional(),
  })
  .meta({ id: 'Problem' });
export type Problem = z.infer<typeof problemSchema>;

/** The URI of a problem type; stable, so clients can switch on it. */
export function problemType(slug: string): string {
  return `urn:warren:problem:${slug}`;
}

/** Where a validated value came from; names the root when an issue has no path. */
export type InputLocation = 'body' | 'query' | 'path' | 'header';

interface IssueLike {
  code?: string;
  path: readonly PropertyKey[];
  message: string;
  keys?: readonly string[];
}

function joinPath(path: readonly PropertyKey[], location: InputLocation): string {
  return path.length === 0 ? location : path.map((segment) => String(segment)).join('.');
}

/**
 * Turns zod issues into field errors. An unknown key becomes one error naming that
 * key, so a client sees exactly which field was rejected.
 */
export function issuesToFieldErrors(issues: readonly IssueLike[], location: InputLocation): FieldError[] {
  const errors: FieldError[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys' && issue.keys && issue.keys.length > 0) {
      for (const key of issue.keys) {
        errors.push({ path: joinPath([...issue.path, key], location), message: 'unknown field' });
      }
    } else {
      errors.push({ path: joinPath(issue.path, location), message: issue.message });
    }
  }
  return errors;
}

/**
 * Field errors a worker sent as the `details` of an `invalid_argument` error, when
 * they have the expected shape; anything else is dropped rather than echoed.
 */
export function fieldErrorsFromDetails(details: unknown): FieldError[] | undefined {
  if (!Array.isArray(details)) return undefined;
  const errors: FieldError[] = [];
  for (const entry of details as unknown[]) {
    const parsed = fieldErrorSchema.safeParse(
      entry && typeof entry === 'object'
        ? {
            path: (entry as { path?: unknown }).path,
            message: (entry as { message?: unknown }).message,
          }
        : entry,
    );
    if (parsed.success) errors.push(parsed.data);
  }
  return errors.length > 0 ? errors : undefined;
}
