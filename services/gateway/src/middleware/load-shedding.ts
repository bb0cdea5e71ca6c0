import type { RequestHandler } from 'express';
import { Counter, type Registry } from 'prom-client';
import { EventLoopOverloadedError } from '../errors/http-errors';
import type { LoadShedder } from '../overload/load-shedder';

export interface LoadSheddingOptions {
  /** Throws RpcOverloadedError while the RPC client has its maximum of calls in flight (MAX_IN_FLIGHT_RPC). */
  assertRpcCapacity: () => void;
  /** Refuses by the gateway's event-loop delay; without it only the RPC cap sheds. */
  shedder?: LoadShedder;
  registry: Registry;
}

const SHED_METRIC = 'http_requests_shed_total';

function shedCounter(registry: Registry): Counter {
  const existing = registry.getSingleMetric(SHED_METRIC);
  if (existing instanceof Counter) return existing;
  return new Counter({
    name: SHED_METRIC,
    help: "API requests refused on arrival because the gateway's event loop was running late (503).",
    registers: [registry],
  });
}

/**
 * Refuses an API request on arrival, with 503 and Retry-After, before it is logged, rate limited, parsed or
 * validated: when the gateway itself is the bottleneck (its event loop is late, so every accepted request would
 * wait behind the others), and when the RPC cap is reached (the workers are). A refusal costs a small fraction of
 * a request, so the gateway keeps answering promptly at several times its capacity.
 */
export function loadShedding(options: LoadSheddingOptions): RequestHandler {
  const { shedder } = options;
  const shed = shedCounter(options.registry);
  return (req, _res, next) => {
    const delayMs = shedder?.refusalDelayOf(req);
    if (delayMs !== undefined) {
      shed.inc();
      next(new EventLoopOverloadedError(delayMs, shedder!.maxEventLoopDelayMs));
      return;
    }
    options.assertRpcCapacity();
    next();
  };
}
