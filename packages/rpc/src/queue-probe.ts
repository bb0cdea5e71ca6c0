import type { Channel, ChannelModel } from 'amqplib';
import { RpcUnavailableError } from './errors';

/** What a passive declare tells about a queue. */
export interface QueueStatus {
  exists: boolean;
  consumers: number;
  messages: number;
}

const NOT_FOUND = 404;

/** A queue's counts from a passive declare, on a channel of its own (a missing queue closes the channel). */
export async function probeQueue(
  connection: Pick<ChannelModel, 'createChannel'>,
  queueName: string,
): Promise<QueueStatus> {
  let probe: Channel;
  try {
    probe = await connection.createChannel();
  } catch (cause) {
    throw new RpcUnavailableError(`could not open a channel to probe ${queueName}`, { cause });
  }
  probe.on('error', () => undefined);
  try {
    const queue = await probe.checkQueue(queueName);
    return { exists: true, consumers: queue.consumerCount, messages: queue.messageCount };
  } catch (error) {
    if ((error as { code?: unknown }).code === NOT_FOUND) return { exists: false, consumers: 0, messages: 0 };
    throw new RpcUnavailableError(`could not probe ${queueName}`, { cause: error });
  } finally {
    // Not awaited: nobody waits on a broker that is slow to confirm a close.
    probe.close().catch(() => undefined);
  }
}
