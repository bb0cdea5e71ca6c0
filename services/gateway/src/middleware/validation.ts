import { bindToActiveContext } from '@warren/service-kit';
import type { RequestHandler } from 'express';
import express from 'express';
import { z } from 'zod';
import { UnsupportedMediaTypeError, ValidationError } from '../errors/http-errors';
import { issuesToFieldErrors, type FieldError, type InputLocation } from '../errors/problem';

const JSON_TYPES = ['application/json', 'application/*+json'];

type ParseResult<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

function tryParse<Schema extends z.ZodType>(
  schema: Schema,
  value: unknown,
  location: InputLocation,
): ParseResult<z.output<Schema>> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return { ok: true, value: parsed.data };
  return { ok: false, errors: issuesToFieldErrors(parsed.error.issues, location) };
}

/** Parses `value` with `schema`, or throws a 400 ValidationError naming each bad field. */
export function parseInput<Schema extends z.ZodType>(
  schema: Schema,
  value: unknown,
  location: InputLocation,
): z.output<Schema> {
  const result = tryParse(schema, value, location);
  if (result.ok) return result.value;
  throw new ValidationError(`the request ${location} is invalid`, result.errors);
}

/** The query parameters a schema names, and no others: an unknown query parameter is ignored, not refused. */
function pickNamed(schema: z.ZodType, query: Record<string, unknown>): Record<string, unknown> {
  const names = schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
  const picked: Record<string, unknown> = {};
  for (const name of names) if (query[name] !== undefined) picked[name] = query[name];
  return picked;
}

function hasBody(headers: Record<string, string | string[] | undefined>): boolean {
  if (headers['transfer-encoding'] !== undefined) return true;
  const length = headers['content-length'];
  return length !== undefined && length !== '0';
}

/**
 * JSON body parsing for the routes that take a body: a body that is not JSON is a
 * 415, malformed JSON a 400 and one over `limit` a 413 (mapped by the error handler).
 */
export function jsonBody(limit: string): RequestHandler[] {
  const requireJson: RequestHandler = (req, _res, next) => {
    if (hasBody(req.headers) && !req.is(JSON_TYPES)) {
      next(new UnsupportedMediaTypeError(req.headers['content-type']));
      return;
    }
    next();
  };
  const parseJson = express.json({ limit, type: JSON_TYPES, strict: true });
  // The parser calls `next` from the request stream's 'end' event, which runs in the context the HTTP
  // instrumentation bound the stream to, without the request id baggage: carry the handler's context over.
  const parseJsonInContext: RequestHandler = (req, res, next) => parseJson(req, res, bindToActiveContext(next));
  return [requireJson, parseJsonInContext];
}

/** Validated input kept by `validate` in `res.locals.input` for the handler. */
export interface ValidatedInput {
  body: unknown;
  params: unknown;
  query: unknown;
}

/**
 * Validates body, path and query before anything else runs (so an invalid request
 * never claims an Idempotency-Key) and keeps the parsed values in `res.locals.input`.
 */
export function validate(schemas: {
  body?: z.ZodType;
  params?: z.ZodType;
  /** Only the parameters it names are read from the query. */
  query?: z.ZodType;
}): RequestHandler {
  return (req, res, next) => {
    const input: ValidatedInput = { body: undefined, params: undefined, query: undefined };
    const errors: FieldError[] = [];
    const locations: InputLocation[] = [];
    const check = (schema: z.ZodType, value: unknown, location: InputLocation): unknown => {
      const result = tryParse(schema, value, location);
      if (result.ok) return result.value;
      errors.push(...result.errors);
      locations.push(location);
      return undefined;
    };
    if (schemas.params) input.params = check(schemas.params, req.params, 'path');
    if (schemas.query) {
      input.query = check(schemas.query, pickNamed(schemas.query, req.query as Record<string, unknown>), 'query');
    }
    if (schemas.body) input.body = check(schemas.body, req.body, 'body');
    if (errors.length > 0) {
      next(new ValidationError(`the request ${locations.join(' and ')} is invalid`, errors));
      return;
    }
    res.locals.input = input;
    next();
  };
}
