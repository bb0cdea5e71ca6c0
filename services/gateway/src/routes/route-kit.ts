import type { RouteDefinition, RouteReply, RouteRequest, RpcClient } from '@warren/rpc';
import { activeContextWithRequestId } from '@warren/service-kit';
import type { Request } from 'express';
import { identityOf } from '../auth/authenticate';
import { IDEMPOTENCY_KEY_HEADER } from '../middleware/idempotency';
import { deadlineOf } from '../middleware/request-deadline';

/** What the gateway needs of an RPC client. */
export type GatewayRpcClient = Pick<RpcClient, 'call' | 'consumerCount' | 'assertCapacity' | 'isConnected'>;

/**
 * Calls a route on behalf of an HTTP request: the request is the call's parent, so the call ends by the request's
 * deadline, carries its Idempotency-Key and the caller's verified identity, and travels in its trace with the request id as baggage (what puts
 * `requestId` on the workers' log lines). Load shedding and the refusal of a route nobody serves are the RPC
 * client's (maxInFlight, failFastWithoutConsumer).
 */
export function callRoute<Route extends RouteDefinition>(
  rpc: GatewayRpcClient,
  req: Request,
  route: Route,
  payload: RouteRequest<Route>,
): Promise<RouteReply<Route>> {
  return rpc.call(route, payload, {
    parent: {
      deadline: deadlineOf(req),
      idempotencyKey: req.get(IDEMPOTENCY_KEY_HEADER),
      traceContext: activeContextWithRequestId(String(req.id)),
      caller: req.res ? identityOf(req.res) : undefined,
    },
  });
}
