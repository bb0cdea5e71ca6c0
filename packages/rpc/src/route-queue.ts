import type { Channel, ChannelModel } from 'amqplib';
import { LEGACY_QUEUE_ARGUMENTS } from './queues';

/** `declared`: the queue is there as declared now; `legacy`: it keeps the arguments of an earlier Warren. */
export type RouteQueueDeclaration = 'declared' | 'legacy';

const PRECONDITION_FAILED = 406;

/**
 * Declares a route's queue on a channel of its own, since a refused declaration closes its channel. A queue an
 * earlier Warren declared with dead-letter arguments refuses a declaration without them (406, "inequivalent arg"):
 * it is served as it is, its settings then partly its own (its arguments win over the policy's dead-letter exchange,
 * and the lower of the two delivery limits holds) until it is deleted when idle and declared again.
 */
export async function declareRouteQueue(
  connection: Pick<ChannelModel, 'createChannel'>,
  queue: string,
  queueArguments: Record<string, unknown>,
): Promise<RouteQueueDeclaration> {
  const declaring: Channel = await connection.createChannel();
  declaring.on('error', () => undefined);
  try {
    await declaring.assertQueue(queue, { durable: true, arguments: queueArguments });
    return 'declared';
  } catch (error) {
    if (isLegacyArgumentsRefusal(error)) return 'legacy';
    throw error;
  } finally {
    // Not awaited: a refused declaration has closed it already, and nobody waits on a slow close.
    declaring.close().catch(() => undefined);
  }
}

function isLegacyArgumentsRefusal(error: unknown): boolean {
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (code !== PRECONDITION_FAILED || typeof message !== 'string') return false;
  return LEGACY_QUEUE_ARGUMENTS.some((argument) => message.includes(`inequivalent arg '${argument}'`));
}
