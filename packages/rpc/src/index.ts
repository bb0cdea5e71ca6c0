export {
  RpcClient,
  type CallOptions,
  type CallParent,
  type RouteStatus,
  type RouteStatusOptions,
  type RpcClientOptions,
} from './client';
export type { ConnectionOptions } from './connection';
export {
  BROKER_HEADERS,
  DEFAULT_REPLAY_TIMEOUT_MS,
  deathOf,
  replayPlan,
  type Death,
  type ReplayAnswer,
  type ReplayOptions,
  type ReplayPlan,
} from './dead-letter-message';
export {
  DeadLetterBatch,
  DeadLetterClient,
  type DeadLetter,
  type DeadLetterClientOptions,
  type DeadLetterSelection,
  type ReplayResult,
} from './dead-letters';
export { beforeDeadline } from './deadline';
export {
  DEADLINE_HEADER,
  DIRECT_REPLY_QUEUE,
  deadlineOf,
  IDEMPOTENCY_KEY_HEADER,
  idempotencyKeyOf,
  MAX_IDEMPOTENCY_KEY_LENGTH,
} from './envelope';
export {
  ADMIN_SCOPE,
  CALLER_SCOPES_HEADER,
  CALLER_SUBJECT_HEADER,
  callerOf,
  confinedSubjectOf,
  MAX_CALLER_SUBJECT_LENGTH,
  type Caller,
} from './caller';
export {
  InvalidCallerError,
  InvalidIdempotencyKeyError,
  isRpcErrorCode,
  PermissionDeniedError,
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
  LEGACY_QUEUE_ARGUMENTS,
  deadLetterQueueOf,
  queueNameOf,
  routeQueueDeclaration,
  type QueueSettings,
} from './queues';
export {
  BrokerPolicyError,
  DEFAULT_DELIVERY_LIMIT,
  ROUTE_QUEUE_POLICY_NAME,
  applyRouteQueuePolicy,
  routeQueuePolicy,
  type ManagementApiTarget,
  type RouteQueuePolicy,
  type RouteQueuePolicySettings,
} from './queue-policy';
export {
  DurationRecorder,
  rpcMetrics,
  type CallOutcome,
  type DeadLetterSource,
  type InFlightSource,
  type RpcMetrics,
} from './metrics';
export {
  defineRoute,
  type RouteDefinition,
  type RouteParsedRequest,
  type RouteReply,
  type RouteReplyInput,
  type RouteRequest,
} from './route';
export { RpcServer, type HandleOptions, type HandlerContext, type RouteHandler, type RpcServerOptions } from './server';
