import { connect, type ChannelModel, type RecoveringChannelModel } from 'amqplib';
import type { RpcLogger } from './logger';
import {
  DEFAULT_INITIAL_RECONNECT_DELAY_MS,
  DEFAULT_MAX_RECONNECT_DELAY_MS,
  reconnectDelayMs,
  type ReconnectSchedule,
} from './reconnect';

export interface ConnectionOptions {
  /** AMQP URL, for example amqp://user:password@127.0.0.1:5672 */
  url: string;
  /** Shown in the broker's management UI; also lets tests find and close this connection. */
  connectionName: string;
  /**
   * First reconnect delay (default 100 ms). When a connection that was up for at least `maxReconnectDelayMs` drops,
   * the first attempt is made at once and the next waits this long; after a failed first connect, or a drop of a
   * connection up for less (one that keeps dropping), the first retry waits this long. Each later wait doubles, up to
   * `maxReconnectDelayMs`, with 20% jitter; attempts go on for as long as the broker is away.
   */
  initialReconnectDelayMs?: number;
  /**
   * Cap of the reconnect delay (default 1000 ms): against a broker down for long, each connection tries once every
   * 0.67 to 1 s, and is back within about that of the broker accepting connections again.
   */
  maxReconnectDelayMs?: number;
  /**
   * AMQP heartbeat in seconds (default 10): a broker that stops answering on an open connection is noticed within
   * about two of them. Calls do not wait for that: each ends at its own deadline.
   */
  heartbeatSeconds?: number;
  /**
   * Longest wait for one connection attempt, TCP connect and AMQP handshake together (default 5000 ms). A broker
   * whose host accepts the socket but never answers (a paused or stopped process) would otherwise hold the
   * reconnect loop forever.
   */
  connectTimeoutMs?: number;
  /** Longest wait, at `close()`, for the broker to confirm each close (default 2000 ms); then it is not waited for. */
  closeTimeoutMs?: number;
}

/** The default of `closeTimeoutMs`, which the client and the server both apply. */
export const DEFAULT_CLOSE_TIMEOUT_MS = 2000;

export interface ConnectionHooks {
  /** Runs on every (re)connect before the connection counts as up; a throw makes it retry. */
  setup(model: ChannelModel): Promise<void>;
  /** Runs when an established connection drops. */
  onDisconnect(error: Error): void;
}

/** The backoff of a connection's options, their defaults applied: for reconnects, and for consuming again. */
export function reconnectScheduleOf(options: ConnectionOptions): ReconnectSchedule {
  return {
    initialDelayMs: options.initialReconnectDelayMs ?? DEFAULT_INITIAL_RECONNECT_DELAY_MS,
    maxDelayMs: options.maxReconnectDelayMs ?? DEFAULT_MAX_RECONNECT_DELAY_MS,
  };
}

/**
 * Opens a recovering AMQP connection with TCP_NODELAY on. It returns at once;
 * amqplib's own recovery reconnects, on the schedule of `reconnectDelayMs`
 * (at once after a drop, then capped exponential backoff with jitter), and
 * reruns `setup` each time so channels and consumers come back.
 */
export async function openRecoveringConnection(
  options: ConnectionOptions,
  hooks: ConnectionHooks,
  logger: RpcLogger,
): Promise<RecoveringChannelModel> {
  const url = new URL(options.url);
  if (!url.searchParams.has('heartbeat')) url.searchParams.set('heartbeat', String(options.heartbeatSeconds ?? 10));
  const schedule = reconnectScheduleOf(options);
  // amqplib's own schedule waits initialDelay before its first attempt, so the delays come from calculateDelay. Its
  // attempt 1 comes right after a drop (or a failed first connect): how long the connection had been up decides
  // whether it is made at once, for that attempt and the ones after it.
  let connectedAt: number | undefined;
  let immediate = false;
  const delayOf = (attempt: number): number => {
    if (attempt === 1) {
      immediate = connectedAt !== undefined && performance.now() - connectedAt >= schedule.maxDelayMs;
      connectedAt = undefined;
    }
    return reconnectDelayMs(attempt, immediate, schedule);
  };
  const connection = await connect(url.toString(), {
    // Without it, Nagle's algorithm holds small frames back and a loopback round trip costs ~40 ms.
    noDelay: true,
    timeout: options.connectTimeoutMs ?? 5000,
    clientProperties: { connection_name: options.connectionName },
    recovery: {
      calculateDelay: delayOf,
      maxRetries: Infinity,
      waitForConnect: false,
      setup: (model: ChannelModel) => hooks.setup(model),
    },
  });
  const name = options.connectionName;
  connection.on('connect', () => {
    connectedAt = performance.now();
    logger.info({ connection: name }, 'amqp connected');
  });
  connection.on('disconnect', (error: Error) => {
    logger.warn({ connection: name, err: error.message }, 'amqp connection lost');
    hooks.onDisconnect(error);
  });
  connection.on('connect-failed', (error: Error) =>
    logger.debug({ connection: name, err: error.message }, 'amqp connect attempt failed'),
  );
  connection.on('reconnect-scheduled', ({ attempt, delay }: { attempt: number; delay: number }) =>
    logger.debug({ connection: name, attempt, delayMs: delay }, 'amqp reconnect scheduled'),
  );
  connection.on('error', (error: Error) => logger.warn({ connection: name, err: error.message }, 'amqp error'));
  connection.on('handler-error', (error: Error, event: string) =>
    logger.error({ connection: name, err: error.message, event }, 'amqp event handler threw'),
  );
  connection.on('blocked', (reason: string) => logger.warn({ connection: name, reason }, 'amqp connection blocked'));
  connection.on('unblocked', () => logger.info({ connection: name }, 'amqp connection unblocked'));
  return connection;
}
