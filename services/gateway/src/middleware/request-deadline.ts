import type { Request, RequestHandler, Response } from 'express';

/**
 * Takes each API request's deadline when the gateway accepts it: `timeoutMs` (RPC_TIMEOUT_MS) from now, in epoch
 * ms, kept in `res.locals.deadline`. Every wait the request makes later — the route-availability probe, the RPC
 * call's publish, confirm and reply — ends by this one instant, so time spent before the call counts against it.
 */
export function requestDeadline(timeoutMs: number): RequestHandler {
  return (_req, res, next) => {
    res.locals.deadline = Date.now() + timeoutMs;
    next();
  };
}

/** The request's deadline (epoch ms); undefined only for a request that did not pass `requestDeadline`. */
export function deadlineOf(req: Request): number | undefined {
  const deadline = (req.res as Response | undefined)?.locals.deadline;
  return typeof deadline === 'number' ? deadline : undefined;
}
