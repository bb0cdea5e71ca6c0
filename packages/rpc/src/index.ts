export {
  RpcClient,
  type CallOptions,
  type CallParent,
  type RouteStatus,
  type RouteStatusOptions,
  type RpcClientOptions,
} from './client';
export type { ConnectionOptions } from './connection';
export { beforeDeadline } from './deadline';
export { DEADLINE_HEADER, IDEMPOTENCY_KEY_HEADER, idempotencyKeyOf, MAX_IDEMPOTENCY_KEY_LENGTH } from './envelope';
export {
  InvalidIdempotencyKeyError,
  isRpcErrorCode,
  RETRIABLE_CODES,
  RPC_ERROR_CODES,
  RpcAbortedError,
  RpcError,
  RpcNoRouteError,
  RpcOverloadedError,
  RpcRemoteError,
  RpcTimeoutError,
  RpcUnavailableError,
  type RpcErrorCode,
  type RpcErrorOptions,
} from './errors';
export { silentLogger, type RpcLogger } from './logger';
export {
  DEFAULT_DEAD_LETTER_EXCHANGE,
  DEFAULT_DELIVERY_LIMIT,
  deadLetterQueueOf,
  queueNameOf,
  routeQueueDeclaration,
  type QueueSettings,
} from './queues';
export { DurationRecorder, rpcMetrics, type CallOutcome, type InFlightSource, type RpcMetrics } from './metrics';
export {
  defineRoute,
  type RouteDefinition,
  type RouteParsedRequest,
  type RouteReply,
  type RouteReplyInput,
  type RouteRequest,
} from './route';
export { RpcServer, type HandleOptions, type HandlerContext, type RouteHandler, type RpcServerOptions } from './server';
