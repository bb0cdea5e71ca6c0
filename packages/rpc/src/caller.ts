import { InvalidCallerError } from './errors';

/** Header carrying the subject (the access token's `sub`) of whoever the call is made for. */
export const CALLER_SUBJECT_HEADER = 'x-caller-subject';
/** Header carrying that caller's scopes, space-separated. */
export const CALLER_SCOPES_HEADER = 'x-caller-scopes';
export const MAX_CALLER_SUBJECT_LENGTH = 255;
/** The scope of an operator: it acts for any subject, and stands in for every other scope. */
export const ADMIN_SCOPE = 'admin';

/**
 * Who a call is made for, as the gateway verified it: it travels with the call (and on to the nested calls a
 * handler makes) beside the deadline and the trace context, so the worker that owns the data decides what this
 * caller may see. Only trusted publishers may set it: the broker's permissions decide who can publish on the route
 * queues (SECURITY.md).
 */
export interface Caller {
  subject: string;
  scopes: readonly string[];
}

/** Adds the caller's headers to a message's headers. */
export function writeCaller(headers: Record<string, unknown>, caller: Caller): void {
  headers[CALLER_SUBJECT_HEADER] = caller.subject;
  headers[CALLER_SCOPES_HEADER] = caller.scopes.join(' ');
}

/**
 * The caller a message was sent for, or undefined when it names none (a call made by no one in particular: auth is
 * off). A subject that is present but unusable is refused rather than ignored: ignoring it would turn a restricted
 * caller into an unrestricted one.
 */
export function callerOf(headers: Readonly<Record<string, unknown>>): Caller | undefined {
  const subject = headers[CALLER_SUBJECT_HEADER];
  const scopes = headers[CALLER_SCOPES_HEADER];
  if ((subject === undefined || subject === null) && (scopes === undefined || scopes === null)) return undefined;
  if (typeof subject !== 'string' || subject.length === 0 || subject.length > MAX_CALLER_SUBJECT_LENGTH) {
    throw new InvalidCallerError(CALLER_SUBJECT_HEADER, `must have 1 to ${MAX_CALLER_SUBJECT_LENGTH} characters`);
  }
  // Workers store the subject (PostgreSQL text), which cannot hold NUL.
  if (subject.includes('\u0000')) throw new InvalidCallerError(CALLER_SUBJECT_HEADER, 'must not contain NUL');
  if (scopes !== undefined && scopes !== null && typeof scopes !== 'string') {
    throw new InvalidCallerError(CALLER_SCOPES_HEADER, 'must be a space-separated string');
  }
  return { subject, scopes: typeof scopes === 'string' ? scopes.split(' ').filter((scope) => scope !== '') : [] };
}

/**
 * The subject whose data a caller is confined to, or undefined when it may act on anyone's: an admin, or no caller
 * at all (the gateway runs with authentication off). The one rule of ownership; each worker applies it where its data is.
 */
export function confinedSubjectOf(caller: Caller | undefined): string | undefined {
  if (caller === undefined || caller.scopes.includes(ADMIN_SCOPE)) return undefined;
  return caller.subject;
}
