import { randomUUID } from 'node:crypto';
import { withRequestId } from '@warren/service-kit';
import type { RequestHandler } from 'express';

declare module 'node:http' {
  interface IncomingMessage {
    /** The request's id, set first thing by `requestId()`. */
    id: string;
  }
}

export const REQUEST_ID_HEADER = 'X-Request-Id';
const MAX_REQUEST_ID_LENGTH = 128;
// Printable ASCII, spaces allowed inside but the id must start and end with a visible character.
const SANE_REQUEST_ID = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/;

/** True for an incoming request id worth keeping: printable ASCII, 1–128 characters. */
export function isAcceptableRequestId(value: unknown): value is string {
  return typeof value === 'string' && value.length <= MAX_REQUEST_ID_LENGTH && SANE_REQUEST_ID.test(value);
}

/** The caller's request id when it is sane, otherwise a fresh UUID. */
export function resolveRequestId(incoming: string | string[] | undefined): string {
  return isAcceptableRequestId(incoming) ? incoming : randomUUID();
}

/**
 * Gives every request an id (the caller's X-Request-Id or a new one), echoes it in
 * the response and keeps it on `req.id` (the access line logs it) and `res.locals.requestId`.
 * The rest of the request runs with the id as the context's only baggage: log lines
 * get it as `requestId`, and RPC calls carry it to the workers (the caller's own
 * `baggage` header is dropped).
 */
export function requestId(): RequestHandler {
  return (req, res, next) => {
    const id = resolveRequestId(req.headers['x-request-id']);
    req.id = id;
    res.locals.requestId = id;
    res.setHeader(REQUEST_ID_HEADER, id);
    withRequestId(id, next);
  };
}
