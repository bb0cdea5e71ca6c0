import { confinedSubjectOf } from '@warren/rpc';
import { Router, type RequestHandler } from 'express';
import { identityOf, requireScopes } from '../auth/authenticate';
import type { UserCache } from '../cache/user-cache';
import { MethodNotAllowedError } from '../errors/http-errors';
import { captureRoute } from '../middleware/metrics';
import { validate, type ValidatedInput } from '../middleware/validation';
import { methodsByPath, type ApiRoute } from './api-route';
import { callRoute, type GatewayRpcClient } from './route-kit';

/** What the router needs besides the table. */
export interface ApiRouterOptions {
  rpc: GatewayRpcClient;
  /** Body parsing for routes that take a JSON body. */
  jsonBody: RequestHandler[];
  /** Idempotency-Key handling for the routes marked idempotent. */
  idempotency: RequestHandler;
  /** The read cache of the routes marked cached or invalidates, keyed by the path's `id`. */
  cache: UserCache;
  /** Verifies the bearer token of every API request, its failure deferred; undefined when authentication is off. */
  authenticate?: RequestHandler;
  /** The rate limit: after authentication, so it counts per token subject (per address without one). */
  rateLimit: RequestHandler;
}

/** The handler that turns a validated request into its RPC call and the call's reply into the response. */
function answer(route: ApiRoute, options: ApiRouterOptions): RequestHandler {
  const { rpc, cache } = options;
  return async (req, res) => {
    const input = res.locals.input as ValidatedInput;
    const id = (input.params as { id?: string } | undefined)?.id;
    if (route.cached && id !== undefined) {
      const cached = await cache.get(id);
      // Another subject's user is never served from the cache: the worker answers, and it says not found.
      const confinedTo = confinedSubjectOf(identityOf(res));
      if (cached.status === 'hit' && (confinedTo === undefined || cached.subject === confinedTo)) {
        res.set('X-Cache', 'hit').type('json').send(cached.json);
        return;
      }
      const reply = await callRoute(rpc, req, route.rpc, route.toRequest(input));
      // Serialized once, for the cache and the response.
      const json = JSON.stringify(reply);
      const status = cached.status === 'hit' ? 'miss' : cached.status;
      if (status === 'miss') await cache.set(id, json, (reply as { subject?: string | null }).subject ?? null);
      res.set('X-Cache', status).type('json').send(json);
      return;
    }
    const reply = await callRoute(rpc, req, route.rpc, route.toRequest(input));
    if (route.invalidates && id !== undefined) await cache.invalidate(id);
    if (route.success.location) res.location(`${req.baseUrl}${route.success.location(reply)}`);
    res.status(route.success.status).json(reply);
  };
}

/** Answers other methods on a known path with 405 and an Allow header (OPTIONS with 204). */
function otherMethods(methods: readonly string[]): RequestHandler {
  const upper = methods.map((method) => method.toUpperCase()).sort();
  const allowed = upper.includes('GET') ? [...upper, 'HEAD'] : upper;
  return (req, res) => {
    if (req.method === 'OPTIONS') {
      res
        .set('Allow', [...allowed, 'OPTIONS'].join(', '))
        .status(204)
        .end();
      return;
    }
    throw new MethodNotAllowedError(req.method, allowed);
  };
}

/** Registers every route of the table, in order, then 405/OPTIONS for each of their paths. */
export function apiRouter(routes: readonly ApiRoute[], options: ApiRouterOptions): Router {
  const router = Router();
  for (const route of routes) {
    router[route.method](
      route.path,
      captureRoute,
      // Who is calling, how often, and may they, before anything reads the body.
      ...(options.authenticate ? [options.authenticate] : []),
      options.rateLimit,
      ...(options.authenticate ? [requireScopes(route.scopes)] : []),
      ...(route.body ? options.jsonBody : []),
      validate({ params: route.params, query: route.query, body: route.body }),
      ...(route.idempotent ? [options.idempotency] : []),
      answer(route, options),
    );
  }
  for (const [path, methods] of methodsByPath(routes)) router.all(path, captureRoute, otherMethods(methods));
  return router;
}
