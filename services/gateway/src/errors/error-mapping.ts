import { STATUS_CODES } from 'node:http';
import { RpcError, RpcOverloadedError, RpcRemoteError } from '@warren/rpc';
import type { Logger } from '@warren/service-kit';
import type { ErrorRequestHandler } from 'express';
import { HttpError } from './http-errors';
import { fieldErrorsFromDetails, PROBLEM_CONTENT_TYPE, problemType, type FieldError, type Problem } from './problem';

/** Seconds a client should wait before retrying when a dependency is unavailable. */
export const RETRY_AFTER_SECONDS = 1;

/**
 * Field errors listed in one problem document at most: a body of thousands of unknown keys (within the body
 * limit) would otherwise be answered with a document several times its size.
 */
export const MAX_FIELD_ERRORS = 20;

/** What an error becomes on the wire. */
export interface MappedError {
  status: number;
  problem: Problem;
  headers: Record<string, string>;
  /** True when this is a bug or an unexpected failure: log it with its stack. */
  unexpected: boolean;
}

export interface ErrorContext {
  requestId: string;
  /** The request path, reported as the problem's `instance`. */
  instance?: string;
}

interface Shape {
  status: number;
  slug: string;
  title?: string;
  detail: string;
  errors?: FieldError[] | undefined;
  headers?: Record<string, string>;
  unexpected?: boolean;
}

const OVERLOADED = problemType('overloaded');
const retryLater = { 'Retry-After': String(RETRY_AFTER_SECONDS) };
// RFC 9110's names where Node's table still has the older ones.
const TITLES: Record<number, string> = { 413: 'Content Too Large', 422: 'Unprocessable Content' };

/** Errors raised by express's body parser carry a `type` and a client-error status. */
interface BodyParserError {
  type: string;
  status: number;
  expose?: boolean;
  limit?: number;
}

function isBodyParserError(error: unknown): error is BodyParserError {
  if (!error || typeof error !== 'object') return false;
  const candidate = error as Partial<BodyParserError>;
  return typeof candidate.type === 'string' && typeof candidate.status === 'number';
}

function fromBodyParser(error: BodyParserError): Shape {
  switch (error.type) {
    case 'entity.parse.failed':
      return { status: 400, slug: 'malformed-json', title: 'Malformed JSON', detail: 'request body is not valid JSON' };
    case 'entity.too.large':
      return {
        status: 413,
        slug: 'payload-too-large',
        detail:
          error.limit === undefined
            ? 'request body is too large'
            : `request body is larger than the limit of ${error.limit} bytes`,
      };
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return {
        status: 415,
        slug: 'unsupported-media-type',
        title: 'Unsupported Media Type',
        detail: 'request bodies must be UTF-8 encoded application/json',
      };
    default:
      if (error.status >= 400 && error.status < 500 && error.expose !== false) {
        return { status: error.status, slug: 'bad-request', detail: 'the request could not be read' };
      }
      return unexpected();
  }
}

function fromRpcError(error: RpcError): Shape {
  switch (error.code) {
    case 'not_found':
      return { status: 404, slug: 'not-found', detail: error.message };
    case 'conflict':
      return { status: 409, slug: 'conflict', detail: error.message };
    case 'invalid_argument':
      // Only a worker's verdict on the input is the client's fault; a local one is a gateway bug.
      if (!(error instanceof RpcRemoteError)) return unexpected();
      return {
        status: 422,
        slug: 'invalid-argument',
        detail: error.message,
        errors: fieldErrorsFromDetails(error.details),
      };
    case 'permission_denied':
      return { status: 403, slug: 'forbidden', title: 'Forbidden', detail: error.message };
    case 'failed_precondition':
      return { status: 422, slug: 'failed-precondition', detail: error.message };
    case 'deadline_exceeded':
      return { status: 504, slug: 'upstream-timeout', detail: 'the service did not answer in time; retry later' };
    case 'no_route':
    case 'unavailable':
      if (error instanceof RpcOverloadedError) {
        return {
          status: 503,
          slug: 'overloaded',
          detail: 'the service is handling too many requests; retry later',
          headers: retryLater,
        };
      }
      return {
        status: 503,
        slug: 'service-unavailable',
        detail: 'the service is temporarily unavailable; retry later',
        headers: retryLater,
      };
    default:
      return unexpected();
  }
}

function unexpected(): Shape {
  return {
    status: 500,
    slug: 'internal',
    detail: 'an unexpected error occurred; quote the request id when reporting it',
    unexpected: true,
  };
}

function classify(error: unknown): Shape {
  if (error instanceof HttpError) {
    return {
      status: error.status,
      slug: error.slug,
      title: error.title,
      detail: error.message,
      errors: error.errors,
      headers: error.headers,
    };
  }
  if (error instanceof RpcError) return fromRpcError(error);
  if (isBodyParserError(error)) return fromBodyParser(error);
  return unexpected();
}

/**
 * THE mapping from anything a request can fail with to its HTTP status and
 * problem document. Pure: it decides, the error handler below only sends.
 */
export function mapError(error: unknown, context: ErrorContext): MappedError {
  const shape = classify(error);
  const problem: Problem = {
    type: problemType(shape.slug),
    title: shape.title ?? TITLES[shape.status] ?? STATUS_CODES[shape.status] ?? 'Error',
    status: shape.status,
    detail: shape.detail,
  };
  if (context.instance !== undefined) problem.instance = context.instance;
  problem.requestId = context.requestId;
  if (shape.errors && shape.errors.length > 0) {
    problem.errors = shape.errors.slice(0, MAX_FIELD_ERRORS);
    if (shape.errors.length > MAX_FIELD_ERRORS) {
      problem.detail += ` (the first ${MAX_FIELD_ERRORS} of ${shape.errors.length} errors are listed)`;
    }
  }
  return { status: shape.status, problem, headers: { ...shape.headers }, unexpected: shape.unexpected === true };
}

/** The request path without its query string, for a problem's `instance`. */
export function instanceOf(originalUrl: string): string {
  const queryAt = originalUrl.indexOf('?');
  return queryAt === -1 ? originalUrl : originalUrl.slice(0, queryAt);
}

/** The one express error handler: maps, logs, and answers with application/problem+json. */
export function problemErrorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, next) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    const requestId = String(res.locals.requestId ?? req.id ?? '');
    const mapped = mapError(error, { requestId, instance: instanceOf(req.originalUrl) });
    if (mapped.unexpected) {
      logger.error({ err: error, requestId }, 'request failed unexpectedly');
    } else if (mapped.status >= 500 && mapped.problem.type !== OVERLOADED) {
      // Overload refusals are counted (rpc_client_shed_total, http_requests_shed_total), not logged one by one: a
      // line each would add to the load they are shedding.
      logger.warn({ err: (error as Error)?.message, status: mapped.status, requestId }, 'request failed');
    }
    // For the request's access line: what it was refused as, and why where the response does not say.
    res.locals.problem = {
      type: mapped.problem.type,
      ...(error instanceof HttpError && error.logReason !== undefined ? { reason: error.logReason } : {}),
    };
    res.status(mapped.status);
    res.set(mapped.headers);
    res.type(PROBLEM_CONTENT_TYPE);
    res.json(mapped.problem);
  };
}
