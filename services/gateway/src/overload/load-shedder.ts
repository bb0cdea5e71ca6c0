import type { IncomingMessage } from 'node:http';
import type { EventLoopDelayMonitor } from './event-loop-delay';

const DECISION = Symbol('warren.shed');

type DecidedRequest = IncomingMessage & { [DECISION]?: number };

export interface LoadShedderOptions {
  /** The gateway's event-loop delay. */
  eventLoopDelay: EventLoopDelayMonitor;
  /** Past this delay in ms an API request is refused (MAX_EVENT_LOOP_DELAY_MS; default 50); 0 never refuses. */
  maxEventLoopDelayMs?: number;
  /**
   * Only while the loop is at least this busy (0 to 1, default 0.5) is a late loop taken for overload: late and
   * mostly idle is a machine starving the process, which refusing requests would not cure.
   */
  minEventLoopUtilization?: number;
  /** Only requests under this path are ever refused (default `/v1/`): the operations endpoints always answer. */
  pathPrefix?: string;
}

/**
 * Decides, once per request and at its arrival, whether the gateway is too late to take it. The decision is kept
 * on the request, so the tracing hook (which runs first, and skips the span of a refused request) and the
 * middleware that answers 503 always agree.
 */
export class LoadShedder {
  readonly maxEventLoopDelayMs: number;
  private readonly minEventLoopUtilization: number;
  private readonly pathPrefix: string;

  constructor(private readonly options: LoadShedderOptions) {
    this.maxEventLoopDelayMs = options.maxEventLoopDelayMs ?? 50;
    this.minEventLoopUtilization = options.minEventLoopUtilization ?? 0.5;
    this.pathPrefix = options.pathPrefix ?? '/v1/';
  }

  /** The event-loop delay (ms) that refuses this request, or undefined when it is taken. */
  refusalDelayOf(request: IncomingMessage): number | undefined {
    const decided = request as DecidedRequest;
    if (decided[DECISION] === undefined) decided[DECISION] = this.decide(request);
    return decided[DECISION] > 0 ? decided[DECISION] : undefined;
  }

  private decide(request: IncomingMessage): number {
    // Express rewrites `url` under a mounted router; `originalUrl` keeps the path as it arrived.
    const path = (request as { originalUrl?: string }).originalUrl ?? request.url ?? '';
    if (this.maxEventLoopDelayMs === 0 || !path.startsWith(this.pathPrefix)) return 0;
    const { eventLoopDelay } = this.options;
    const delayMs = eventLoopDelay.delayMs();
    if (delayMs <= this.maxEventLoopDelayMs) return 0;
    return eventLoopDelay.utilization() >= this.minEventLoopUtilization ? delayMs : 0;
  }
}
