/** The settings that shape a route's queues, with their defaults. */
export interface QueueSettings {
  /** `quorum` (replicated, the default) or `classic`. */
  queueType?: 'quorum' | 'classic';
  /** Exchange that receives rejected messages (default `warren.dead-letter`). */
  deadLetterExchange?: string;
  /** Deliveries of one message before a quorum queue dead-letters it (default 5): a poison message that kills workers. */
  deliveryLimit?: number;
  /** Put before every route's queue name (default none): tests give each run queues of its own. */
  queuePrefix?: string;
}

export const DEFAULT_DEAD_LETTER_EXCHANGE = 'warren.dead-letter';
export const DEFAULT_DELIVERY_LIMIT = 5;

/** The queue a route's requests wait in: its name, after the prefix. */
export function queueNameOf(routeName: string, settings: Pick<QueueSettings, 'queuePrefix'> = {}): string {
  return `${settings.queuePrefix ?? ''}${routeName}`;
}

/** Where a route's rejected messages are kept, bound to the dead-letter exchange by the route's queue name. */
export function deadLetterQueueOf(queueName: string): string {
  return `${queueName}.dead-letter`;
}

/** How RpcServer declares a route's queue and its dead-letter queue: one source for the server and its benchmarks. */
export function routeQueueDeclaration(settings: QueueSettings = {}): {
  deadLetterExchange: string;
  queueArguments: Record<string, unknown>;
  deadLetterQueueArguments: Record<string, unknown>;
} {
  const queueType = settings.queueType ?? 'quorum';
  const deadLetterExchange = settings.deadLetterExchange ?? DEFAULT_DEAD_LETTER_EXCHANGE;
  const queueArguments: Record<string, unknown> = {
    'x-queue-type': queueType,
    'x-dead-letter-exchange': deadLetterExchange,
  };
  if (queueType === 'quorum') queueArguments['x-delivery-limit'] = settings.deliveryLimit ?? DEFAULT_DELIVERY_LIMIT;
  return { deadLetterExchange, queueArguments, deadLetterQueueArguments: { 'x-queue-type': queueType } };
}
