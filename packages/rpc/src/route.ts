import type { z } from 'zod';

/** A named RPC route with the schemas of its request and reply. */
export interface RouteDefinition<
  RequestSchema extends z.ZodType = z.ZodType,
  ReplySchema extends z.ZodType = z.ZodType,
> {
  readonly name: string;
  readonly request: RequestSchema;
  readonly reply: ReplySchema;
}

/** What a caller sends on a route. */
export type RouteRequest<Route extends RouteDefinition> = z.input<Route['request']>;
/** What a handler receives: the request after its schema parsed it. */
export type RouteParsedRequest<Route extends RouteDefinition> = z.output<Route['request']>;
/** What a handler returns. */
export type RouteReplyInput<Route extends RouteDefinition> = z.input<Route['reply']>;
/** What a caller receives. */
export type RouteReply<Route extends RouteDefinition> = z.output<Route['reply']>;

const ROUTE_NAME = /^[a-z][a-zA-Z0-9]*(\.[a-z][a-zA-Z0-9]*)+$/;

/** Declares a route; its name doubles as the name of its queue (for example `users.get`). */
export function defineRoute<RequestSchema extends z.ZodType, ReplySchema extends z.ZodType>(
  name: string,
  schemas: { request: RequestSchema; reply: ReplySchema },
): RouteDefinition<RequestSchema, ReplySchema> {
  if (!ROUTE_NAME.test(name)) {
    throw new TypeError(`route name "${name}" must be dotted lower camel case, like "users.get"`);
  }
  return Object.freeze({ name, request: schemas.request, reply: schemas.reply });
}
