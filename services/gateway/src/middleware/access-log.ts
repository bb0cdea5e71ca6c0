import type { Logger } from '@warren/service-kit';
import type { Request, RequestHandler, Response } from 'express';

/** Probes and scrapes are not logged: one line per kubelet probe or Prometheus scrape would drown the rest. */
const UNLOGGED_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics']);

/** The request as the access line records it: what pino's standard serializer gives, credentials redacted. */
function requestFields(req: Request) {
  return {
    id: req.id,
    method: req.method,
    url: req.originalUrl,
    headers: req.headers,
    remoteAddress: req.socket.remoteAddress,
    remotePort: req.socket.remotePort,
  };
}

/** 503 and 504 are a dependency's state, already logged as warnings where they arose; only a 500 is a bug. */
function levelOf(res: Response): 'info' | 'warn' | 'error' {
  if (res.statusCode === 500) return 'error';
  return res.statusCode >= 500 ? 'warn' : 'info';
}

/**
 * One access line per API request, written when its response is finished (or its connection closed first):
 * `request completed` (or `request aborted`) with the request (method, url, headers with credentials redacted,
 * remote address), the status code and `responseTime` in ms, `requestId`, and for a refusal its problem type (with
 * the reason of an invalid token, which the client is not told); `trace_id` and `span_id` are the request's
 * server span's. One object and one write per request: no per-request child logger.
 */
export function accessLog(logger: Logger): RequestHandler {
  return (req, res, next) => {
    if (UNLOGGED_PATHS.has(req.path)) {
      next();
      return;
    }
    const startedAt = performance.now();
    const onEnd = () => {
      res.removeListener('finish', onEnd);
      res.removeListener('close', onEnd);
      // Named here: the response's events run in the HTTP server's context, without the request's baggage.
      const fields = {
        requestId: req.id,
        req: requestFields(req),
        res: { statusCode: res.statusCode },
        responseTime: Math.round(performance.now() - startedAt),
        ...(res.locals.problem === undefined ? {} : { problem: res.locals.problem }),
      };
      if (res.writableFinished) logger[levelOf(res)](fields, 'request completed');
      else logger.warn(fields, 'request aborted');
    };
    res.once('finish', onEnd);
    res.once('close', onEnd);
    next();
  };
}
