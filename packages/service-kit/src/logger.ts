import pino, { type DestinationStream, type Logger, type LoggerOptions as PinoOptions } from 'pino';
import { activeRequestId } from './request-context';

export type { Logger } from 'pino';

export interface LoggerOptions {
  service: string;
  level: string;
  /** Human-readable output for local development; JSON everywhere else. */
  pretty: boolean;
  /**
   * Where JSON lines go; ignored when `pretty`. Default: stdout, written asynchronously — lines logged while a write
   * is in progress go out together in the next one, instead of a write (a system call) per line; what is still
   * buffered is written synchronously when the process exits (pino's exit hook).
   */
  destination?: DestinationStream;
}

/** Paths whose values never reach a log line. */
export const REDACTED_PATHS = [
  'password',
  '*.password',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["proxy-authorization"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'config.amqpUrl',
  'config.databaseUrl',
  'config.redisUrl',
];

/** Marks a logger whose own bindings already name the request (a child logger bound to a `requestId`). */
const BINDS_REQUEST_ID = Symbol('warren.bindsRequestId');
type MaybeMarked = { [BINDS_REQUEST_ID]?: boolean };

/**
 * The service's pino logger: JSON lines with the service name, secrets redacted.
 *
 * A line written while a request is being handled also names it: `requestId`, from the W3C baggage of the
 * active OpenTelemetry context (see request-context.ts), and — added by @warren/telemetry's pino
 * instrumentation — `trace_id`, `span_id` and `trace_flags` of the active span. A field given in the call
 * wins over the one from the context, and a child logger bound to a `requestId` keeps its own.
 */
export function createLogger(options: LoggerOptions): Logger {
  const pretty = options.pretty ? { target: 'pino-pretty', options: { colorize: true } } : undefined;
  const settings: PinoOptions<never> = {
    level: options.level,
    base: { service: options.service },
    mixin: (_fields, _level, logger) => {
      if ((logger as MaybeMarked)[BINDS_REQUEST_ID]) return {};
      const requestId = activeRequestId();
      return requestId === undefined ? {} : { requestId };
    },
    onChild: (child) => {
      if (Object.hasOwn(child.bindings(), 'requestId')) (child as MaybeMarked)[BINDS_REQUEST_ID] = true;
    },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACTED_PATHS, censor: '***' },
    formatters: { level: (label) => ({ level: label }) },
    transport: pretty,
  };
  if (pretty) return pino(settings);
  return pino(settings, options.destination ?? pino.destination({ dest: 1, sync: false }));
}
