import { RPC_HEADERS } from '@warren/contracts';
import type { RouteDefinition, RouteReply, RouteRequest } from '@warren/rpc';
import { withRequestId } from '@warren/service-kit';
import type { Request, RequestHandler, Router } from 'express';
import { MethodNotAllowedError } from '../errors/http-errors';
import { IDEMPOTENCY_KEY_HEADER } from '../middleware/idempotency';
import { captureRoute } from '../middleware/metrics';
import { deadlineOf } from '../middleware/request-deadline';
import type { GatewayRoutes, GatewayRpcClient } from './gateway-routes';
import type { RouteAvailability } from './route-availability';
import type { RpcAdmission } from './rpc-admission';

/** What a router needs to turn requests into RPC calls. */
export interface RouteContext {
  rpc: GatewayRpcClient;
  routes: GatewayRoutes;
  rpcTimeoutMs: number;
  /** Body parsing for routes that take a JSON body. */
  jsonBody: RequestHandler[];
  /** Idempotency-Key handling for POST routes. */
  idempotency: RequestHandler;
  /** Consumer counts of the routes, to refuse at once a call nobody would answer. */
  availability: RouteAvailability;
  /** The cap on RPC calls in flight: past it a request is shed with a 503 instead of queued. */
  admission: RpcAdmission;
}

/**
 * Calls a route on behalf of an HTTP request, passing its request id and Idempotency-Key along; shed with
 * a 503 when MAX_IN_FLIGHT_RPC calls are already in flight. Every wait ends by the request's deadline: past it,
 * a call not yet sent is a 503 (nothing was asked of the worker), a sent one a 504.
 */
export function callRoute<Route extends RouteDefinition>(
  context: RouteContext,
  req: Request,
  route: Route,
  payload: RouteRequest<Route>,
): Promise<RouteReply<Route>> {
  const deadline = deadlineOf(req);
  return context.admission.run(route.name, async () => {
    await context.availability.assertServed(route.name, deadline);
    const headers: Record<string, string> = { [RPC_HEADERS.requestId]: String(req.id) };
    const idempotencyKey = req.get(IDEMPOTENCY_KEY_HEADER);
    if (idempotencyKey !== undefined) headers[RPC_HEADERS.idempotencyKey] = idempotencyKey;
    // The request id goes as baggage too (the RPC client injects it with the trace context), whatever
    // middleware ran before: it is what puts `requestId` on the workers' log lines.
    return withRequestId(String(req.id), () =>
      context.rpc.call(route, payload, { timeoutMs: context.rpcTimeoutMs, deadline, headers }),
    );
  });
}

/** Answers other methods on a known path with 405 and an Allow header (OPTIONS with 204). */
export function allowOnly(router: Router, path: string, methods: readonly string[]): void {
  const allowed = methods.includes('GET') ? [...methods, 'HEAD'] : [...methods];
  router.all(path, captureRoute, (req, res) => {
    if (req.method === 'OPTIONS') {
      res
        .set('Allow', [...allowed, 'OPTIONS'].join(', '))
        .status(204)
        .end();
      return;
    }
    throw new MethodNotAllowedError(req.method, allowed);
  });
}
