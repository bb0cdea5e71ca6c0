import { context } from '@opentelemetry/api';
import { getRPCMetadata, RPCType } from '@opentelemetry/core';

/**
 * Names the route template of the HTTP request being handled (`/v1/users/:id`): the HTTP instrumentation puts it
 * on the server span as `http.route` and in its name (`GET /v1/users/:id`) when the response ends. This is what
 * the Express instrumentation did from its layers, at the price of wrapping every layer of every request; the
 * gateway knows its route from its own table. Does nothing outside a traced HTTP request.
 */
export function setHttpRoute(route: string): void {
  const metadata = getRPCMetadata(context.active());
  if (metadata?.type === RPCType.HTTP) metadata.route = route;
}
