import { context, propagation, type Context } from '@opentelemetry/api';

/**
 * The W3C baggage entry that carries the HTTP request id from the gateway through every RPC hop (the
 * RpcClient injects the active baggage into the AMQP headers, the RpcServer extracts it into the handler's
 * context), so that the logger of any service can put `requestId` on the lines it writes for that request.
 */
export const REQUEST_ID_BAGGAGE_KEY = 'warren.request_id';

/**
 * `parent` with baggage holding only the request id. Any baggage the caller sent is dropped, not merged:
 * the gateway is the edge, and nothing a client says travels into the services unchecked.
 */
export function contextWithRequestId(parent: Context, requestId: string): Context {
  return propagation.setBaggage(parent, propagation.createBaggage({ [REQUEST_ID_BAGGAGE_KEY]: { value: requestId } }));
}

/** The active context with the request id as its only baggage (see contextWithRequestId). */
export function activeContextWithRequestId(requestId: string): Context {
  return contextWithRequestId(context.active(), requestId);
}

/** Runs `callback` in the active context with the request id as its only baggage (see contextWithRequestId). */
export function withRequestId<T>(requestId: string, callback: () => T): T {
  return context.with(contextWithRequestId(context.active(), requestId), callback);
}

/** The request id of the active context's baggage, if any. */
export function activeRequestId(): string | undefined {
  return propagation.getActiveBaggage()?.getEntry(REQUEST_ID_BAGGAGE_KEY)?.value;
}

/**
 * `callback` bound to the active context: for a continuation that something else will call later from a
 * context of its own (an event listener, e.g. body parsing's `next`), so that it still runs in this one.
 */
export function bindToActiveContext<Callback extends (...args: never[]) => unknown>(callback: Callback): Callback {
  return context.bind(context.active(), callback);
}
