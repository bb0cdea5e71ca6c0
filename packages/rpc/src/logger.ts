/** The slice of a pino logger this package writes to. */
export interface RpcLogger {
  debug(object: object, message: string): void;
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
  error(object: object, message: string): void;
}

const ignore = () => undefined;

/** A logger that drops everything; the default when none is given. */
export const silentLogger: RpcLogger = { debug: ignore, info: ignore, warn: ignore, error: ignore };
