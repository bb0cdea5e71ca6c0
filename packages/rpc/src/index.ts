export {
  RpcClient,
  type CallOptions,
  type RouteStatus,
  type RouteStatusOptions,
  type RpcClientOptions,
} from './client';
export type { ConnectionOptions } from './connection';
export { beforeDeadline } from './deadline';
export { DEADLINE_HEADER } from './envelope';
export {
  RpcAbortedError,
  RpcError,
  RpcNoRouteError,
  RpcRemoteError,
  RpcTimeoutError,
  RpcUnavailableError,
  type RpcErrorCode,
  type RpcErrorOptions,
} from './errors';
export { silentLogger, type RpcLogger } from './logger';
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
