import type { RequestHandler } from 'express';
import { Counter, Gauge, type Registry } from 'prom-client';
import { GatewayOverloadedError } from '../errors/http-errors';

/** The `route` label of requests refused on arrival, before routing: any route. */
export const ON_ARRIVAL_ROUTE = '*';

/**
 * Load shedding at the gateway's RPC call path: at most `limit` calls in
 * flight at once. Past it a call is refused at once with a 503 and
 * Retry-After (GatewayOverloadedError) instead of joining a queue that only
 * grows: each waiting call holds a socket, a timer and its memory, and
 * answers too late to help anyone. Counted in `gateway_rpc_shed_total` by
 * route; `gateway_rpc_in_flight` is the count the limit applies to.
 *
 * `run` guards each call (callRoute); `shedOnArrival` refuses API requests
 * before any other work while the limit is reached, because a refusal has to
 * cost far less than serving: refused after logging, the rate limit's Redis
 * call, body parsing and validation, a request costs the gateway nearly what
 * a served one does, and under overload the refusals alone saturate it.
 */
export class RpcAdmission {
  private inFlight = 0;
  private readonly shed: Counter<'route'>;

  constructor(
    readonly limit: number,
    registry: Registry,
  ) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError('the in-flight limit must be a positive integer');
    registry.removeSingleMetric('gateway_rpc_shed_total');
    registry.removeSingleMetric('gateway_rpc_in_flight');
    this.shed = new Counter({
      name: 'gateway_rpc_shed_total',
      help: 'Requests answered 503 at once because MAX_IN_FLIGHT_RPC calls were already in flight, by RPC route.',
      labelNames: ['route'],
      registers: [registry],
    });
    const inFlight = () => this.inFlight;
    new Gauge({
      name: 'gateway_rpc_in_flight',
      help: 'RPC calls the gateway has in flight, against the MAX_IN_FLIGHT_RPC limit.',
      registers: [registry],
      collect() {
        this.set(inFlight());
      },
    });
  }

  /**
   * First in line for the API's requests: while the limit is reached, refuse at once (503, Retry-After),
   * before logging, the rate limit, body parsing and validation. Requests that pass may still be refused
   * by `run`, when others filled the limit in the meantime.
   */
  shedOnArrival(): RequestHandler {
    const shed = this.shed.labels({ route: ON_ARRIVAL_ROUTE });
    return (_req, _res, next) => {
      if (this.inFlight < this.limit) {
        next();
        return;
      }
      shed.inc();
      next(new GatewayOverloadedError());
    };
  }

  /** Calls admitted and not yet settled. */
  get count(): number {
    return this.inFlight;
  }

  /** Runs `call` if there is room for it, else throws GatewayOverloadedError without running it. */
  async run<T>(route: string, call: () => Promise<T>): Promise<T> {
    if (this.inFlight >= this.limit) {
      this.shed.inc({ route });
      throw new GatewayOverloadedError();
    }
    this.inFlight++;
    try {
      return await call();
    } finally {
      this.inFlight--;
    }
  }
}
