import type { RouteDefinition, RouteReply, RouteRequest } from '@warren/rpc';
import type { z } from 'zod';
import type { Scope } from '../auth/identity';

type Schema = z.ZodType | undefined;
type Parsed<S extends Schema> = S extends z.ZodType ? z.output<S> : undefined;

/** What `validate` hands a route: path parameters, query and body, each parsed by its schema. */
export interface RouteInput<Params extends Schema, Query extends Schema, Body extends Schema> {
  params: Parsed<Params>;
  query: Parsed<Query>;
  body: Parsed<Body>;
}

export type HttpMethod = 'get' | 'post' | 'patch';

/** One operation of the public API, as written in the route table; everything about it derives from here. */
export interface ApiRouteSpec<
  Rpc extends RouteDefinition,
  Params extends Schema,
  Query extends Schema,
  Body extends Schema,
> {
  /** The OpenAPI operationId, unique: `usersCreate`. */
  operationId: string;
  method: HttpMethod;
  /** The Express path under /v1: `/users/:id`. */
  path: string;
  tag: 'users' | 'orders';
  summary: string;
  params?: Params;
  /** Only the fields this schema names are read from the query string; others are ignored. */
  query?: Query;
  /** A JSON body, parsed (415 when not JSON, 413 over the limit) and validated. */
  body?: Body;
  /** The scopes a caller's token needs, every one of them (`admin` stands in for all), when authentication is on. */
  scopes: readonly Scope[];
  /** The RPC route that answers it. */
  rpc: Rpc;
  /** The RPC request, from the validated input (types inferred from the schemas above). */
  toRequest(input: RouteInput<Params, Query, Body>): RouteRequest<Rpc>;
  success: {
    status: 200 | 201;
    description: string;
    /** Where a created resource lives, under /v1: sent as `Location`. */
    location?(reply: RouteReply<Rpc>): string;
  };
  /** Takes an Idempotency-Key: a retry with the same key replays the first response. */
  idempotent?: boolean;
  /** Answered from the read cache when it holds the resource named by the path's `id` (X-Cache). */
  cached?: boolean;
  /** Changes the resource named by the path's `id`: its cached copy is dropped once the change is made. */
  invalidates?: boolean;
}

/** A route of the table with its types erased: what registration, the OpenAPI document and the tests read. */
export interface ApiRoute {
  readonly operationId: string;
  readonly method: HttpMethod;
  readonly path: string;
  readonly tag: 'users' | 'orders';
  readonly summary: string;
  readonly params?: z.ZodType | undefined;
  readonly query?: z.ZodType | undefined;
  readonly body?: z.ZodType | undefined;
  readonly scopes: readonly Scope[];
  readonly rpc: RouteDefinition;
  toRequest(input: { params: unknown; query: unknown; body: unknown }): unknown;
  readonly success: { status: 200 | 201; description: string; location?(reply: unknown): string };
  readonly idempotent: boolean;
  readonly cached: boolean;
  readonly invalidates: boolean;
}

/** Declares a route of the table; `toRequest` and `location` are checked against the schemas given. */
export function defineApiRoute<
  Rpc extends RouteDefinition,
  Params extends Schema = undefined,
  Query extends Schema = undefined,
  Body extends Schema = undefined,
>(spec: ApiRouteSpec<Rpc, Params, Query, Body>): ApiRoute {
  return Object.freeze({
    ...spec,
    idempotent: spec.idempotent ?? false,
    cached: spec.cached ?? false,
    invalidates: spec.invalidates ?? false,
  }) as unknown as ApiRoute;
}

/** `/users/:id` as OpenAPI writes it: `/v1/users/{id}`. */
export function openApiPath(route: Pick<ApiRoute, 'path'>): string {
  return `/v1${route.path.replace(/:([A-Za-z]+)/g, '{$1}')}`;
}

/** The routes' paths, each with the methods it answers, in table order. */
export function methodsByPath(routes: readonly ApiRoute[]): Map<string, HttpMethod[]> {
  const byPath = new Map<string, HttpMethod[]>();
  for (const route of routes) byPath.set(route.path, [...(byPath.get(route.path) ?? []), route.method]);
  return byPath;
}

/** The RPC routes the table calls, each once. */
export function rpcRoutesOf(routes: readonly ApiRoute[]): RouteDefinition[] {
  return [...new Set(routes.map((route) => route.rpc))];
}
