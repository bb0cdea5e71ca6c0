/** The settings that shape a route's queues, with their defaults. */
export interface QueueSettings {
  /** `quorum` (replicated, the default) or `classic`. */
  queueType?: 'quorum' | 'classic';
  /**
   * Exchange the server declares and binds each route's dead-letter queue to (default `warren.dead-letter`). The
   * queues reach it through the route queue policy (queue-policy.ts), which must name the same exchange.
   */
  deadLetterExchange?: string;
  /** Put before every route's queue name (default none): tests give each run queues of its own. */
  queuePrefix?: string;
}

export const DEFAULT_DEAD_LETTER_EXCHANGE = 'warren.dead-letter';

/**
 * Arguments Warren's route queues were declared with before those settings moved to the route queue policy. A
 * queue that still has them is kept as it is (RpcServer): a declaration without them would fail 406.
 */
export const LEGACY_QUEUE_ARGUMENTS = ['x-dead-letter-exchange', 'x-delivery-limit'] as const;

/** The queue a route's requests wait in: its name, after the prefix. */
export function queueNameOf(routeName: string, settings: Pick<QueueSettings, 'queuePrefix'> = {}): string {
  return `${settings.queuePrefix ?? ''}${routeName}`;
}

/** Where a route's rejected messages are kept, bound to the dead-letter exchange by the route's queue name. */
export function deadLetterQueueOf(queueName: string): string {
  return `${queueName}.dead-letter`;
}

/**
 * How RpcServer declares a route's queue and its dead-letter queue: one source for the server and its benchmarks.
 * The queue type is the only argument, since no policy can change it; dead-lettering and the delivery limit come
 * from the route queue policy.
 */
export function routeQueueDeclaration(settings: QueueSettings = {}): {
  deadLetterExchange: string;
  queueArguments: Record<string, unknown>;
  deadLetterQueueArguments: Record<string, unknown>;
} {
  const queueArguments = { 'x-queue-type': settings.queueType ?? 'quorum' };
  return {
    deadLetterExchange: settings.deadLetterExchange ?? DEFAULT_DEAD_LETTER_EXCHANGE,
    queueArguments,
    deadLetterQueueArguments: { ...queueArguments },
  };
}
