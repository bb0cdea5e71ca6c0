/**
 * The floor: the least code that does the same echo round trip over the same
 * broker. Bare amqplib, TCP_NODELAY, direct reply-to and a Map of pending
 * calls on the client; parse, stringify, reply, ack on the server. No
 * validation, tracing, metrics, deadlines or publisher confirms: whatever
 * @warren/rpc costs on top of this is the price of those.
 */
import { connect, type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import { SERVER_PREFETCH, rpcServerQueueArguments } from './echo';

const DIRECT_REPLY_TO = 'amq.rabbitmq.reply-to';

interface PendingReply {
  resolve(reply: unknown): void;
  reject(error: Error): void;
}

export interface Closable {
  close(): Promise<void>;
}

export class FloorClient implements Closable {
  private readonly pending = new Map<string, PendingReply>();
  private nextId = 0;

  private constructor(
    private readonly connection: ChannelModel,
    private readonly channel: Channel,
    private readonly queue: string,
  ) {}

  static async open(amqpUrl: string, queue: string): Promise<FloorClient> {
    const connection = await connect(amqpUrl, { noDelay: true });
    const channel = await connection.createChannel();
    const client = new FloorClient(connection, channel, queue);
    // A lost broker must fail the calls in flight, not leave them hanging.
    connection.on('error', (error: Error) => client.failAll(error));
    channel.on('error', (error: Error) => client.failAll(error));
    channel.on('close', () => client.failAll(new Error('floor client channel closed')));
    // Direct reply-to: consume with no-ack before publishing on the same channel.
    await channel.consume(DIRECT_REPLY_TO, (message) => client.onReply(message), { noAck: true });
    return client;
  }

  call(payload: unknown): Promise<unknown> {
    const correlationId = (this.nextId++).toString(36);
    return new Promise((resolve, reject) => {
      this.pending.set(correlationId, { resolve, reject });
      this.channel.publish('', this.queue, Buffer.from(JSON.stringify(payload)), {
        correlationId,
        replyTo: DIRECT_REPLY_TO,
      });
    });
  }

  async close(): Promise<void> {
    await this.connection.close();
  }

  private onReply(message: ConsumeMessage | null): void {
    if (!message) return;
    const correlationId: unknown = message.properties.correlationId;
    if (typeof correlationId !== 'string') return;
    const call = this.pending.get(correlationId);
    if (!call) return; // a reply to a call already failed
    this.pending.delete(correlationId);
    call.resolve(JSON.parse(message.content.toString('utf8')));
  }

  private failAll(error: Error): void {
    for (const call of this.pending.values()) call.reject(error);
    this.pending.clear();
  }
}

/** Starts the bare echo consumer on its own queue, declared as RpcServer declares a route's. */
export async function startFloorServer(amqpUrl: string, queue: string): Promise<Closable> {
  const connection = await connect(amqpUrl, { noDelay: true });
  const channel = await connection.createChannel();
  await channel.assertQueue(queue, { durable: true, arguments: rpcServerQueueArguments() });
  await channel.prefetch(SERVER_PREFETCH);
  await channel.consume(queue, (message) => {
    if (!message) return;
    const { correlationId, replyTo } = message.properties as { correlationId: string; replyTo: string };
    const reply = JSON.stringify(JSON.parse(message.content.toString('utf8')));
    channel.publish('', replyTo, Buffer.from(reply), { correlationId });
    channel.ack(message);
  });
  return { close: () => connection.close() };
}
