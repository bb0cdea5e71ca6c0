/**
 * The floors' request/reply over RabbitMQ: the least amqplib code that does a round trip. Direct reply-to,
 * TCP_NODELAY and a Map of pending calls on the client; on the server a queue declared exactly as RpcServer
 * declares a route's (so both pay the same broker-side cost), an answer, a reply, an ack. No validation,
 * tracing, metrics, deadlines or publisher confirms: whatever @warren/rpc costs on top of this is their price.
 */
import { connect, type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import { routeQueueDeclaration } from '@warren/rpc';

const DIRECT_REPLY_TO = 'amq.rabbitmq.reply-to';

/** The arguments RpcServer gives a route queue with its default options (its type; the rest is the broker policy). */
export function rpcServerQueueArguments(): Record<string, unknown> {
  return routeQueueDeclaration().queueArguments;
}

/** A connection as the floors open it: no Nagle delay, as RpcClient and RpcServer. */
export function connectBare(amqpUrl: string): Promise<ChannelModel> {
  return connect(amqpUrl, { noDelay: true });
}

interface PendingReply<Reply> {
  resolve(reply: Reply): void;
  reject(error: Error): void;
}

/**
 * Publishes requests to any queue and resolves each with its reply, matched by correlation id and made by
 * `decode` as the reply arrives (no extra promise per call).
 */
export class DirectReplyClient<Reply> {
  private readonly pending = new Map<string, PendingReply<Reply>>();
  private nextId = 0;

  private constructor(
    private readonly connection: ChannelModel,
    private readonly channel: Channel,
    private readonly decode: (message: ConsumeMessage) => Reply,
  ) {}

  static async open<Reply>(
    amqpUrl: string,
    decode: (message: ConsumeMessage) => Reply,
  ): Promise<DirectReplyClient<Reply>> {
    const connection = await connectBare(amqpUrl);
    const channel = await connection.createChannel();
    const client = new DirectReplyClient(connection, channel, decode);
    // A lost broker must fail the calls in flight, not leave them hanging.
    connection.on('error', (error: Error) => client.failAll(error));
    channel.on('error', (error: Error) => client.failAll(error));
    channel.on('close', () => client.failAll(new Error('floor client channel closed')));
    // Direct reply-to: consume with no-ack before publishing on the same channel.
    await channel.consume(DIRECT_REPLY_TO, (message) => client.onReply(message), { noAck: true });
    return client;
  }

  call(queue: string, body: Buffer): Promise<Reply> {
    const correlationId = (this.nextId++).toString(36);
    return new Promise((resolve, reject) => {
      this.pending.set(correlationId, { resolve, reject });
      this.channel.publish('', queue, body, { correlationId, replyTo: DIRECT_REPLY_TO });
    });
  }

  async close(): Promise<void> {
    await this.connection.close();
  }

  private onReply(message: ConsumeMessage | null): void {
    const correlationId: unknown = message?.properties.correlationId;
    if (!message || typeof correlationId !== 'string') return;
    const call = this.pending.get(correlationId);
    if (!call) return; // a reply to a call already failed
    this.pending.delete(correlationId);
    call.resolve(this.decode(message));
  }

  private failAll(error: Error): void {
    for (const call of this.pending.values()) call.reject(error);
    this.pending.clear();
  }
}

/** A reply: its body, and its AMQP `type` when it says something went wrong. */
export interface BareReply {
  content: string;
  type?: string;
}

/**
 * Consumes `queue`, on a channel of its own with `prefetch`, declared as RpcServer declares a route's, and
 * replies to every message with what `answer` returns. A synchronous answer is sent at once: the floor must not
 * pay for a promise per message that it does not need.
 */
export async function serveQueue(
  connection: ChannelModel,
  queue: string,
  prefetch: number,
  answer: (content: Buffer) => BareReply | Promise<BareReply>,
): Promise<void> {
  const channel = await connection.createChannel();
  await channel.assertQueue(queue, { durable: true, arguments: rpcServerQueueArguments() });
  await channel.prefetch(prefetch);
  await channel.consume(queue, (message) => {
    if (!message) return;
    const { correlationId, replyTo } = message.properties as { correlationId: string; replyTo: string };
    const reply = (sent: BareReply): void => {
      channel.publish('', replyTo, Buffer.from(sent.content), { correlationId, type: sent.type });
      channel.ack(message);
    };
    const answered = answer(message.content);
    if (answered instanceof Promise) void answered.then(reply);
    else reply(answered);
  });
}
