import { randomBytes } from 'node:crypto';
import {
  connect,
  type ChannelModel,
  type ConfirmChannel,
  type ConsumeMessage,
  type GetMessage,
  type Message,
  type MessageProperties,
} from 'amqplib';
import { DEFAULT_CLOSE_TIMEOUT_MS, type ConnectionOptions } from './connection';
import {
  answerOf,
  deathOf,
  replayPlan,
  type Death,
  type ReplayAnswer,
  type ReplayOptions,
} from './dead-letter-message';
import { settlesWithin } from './deadline';
import { DIRECT_REPLY_QUEUE, deadlineOf } from './envelope';
import { RpcError, RpcNoRouteError, RpcUnavailableError } from './errors';
import { probeQueue } from './queue-probe';
import { deadLetterQueueOf, queueNameOf } from './queues';

/** One message of a `<route>.dead-letter` queue, as `DeadLetterClient.take` found it. */
export interface DeadLetter {
  /** Its place in the queue when it was taken, from 1 (the oldest). */
  position: number;
  messageId: string | undefined;
  correlationId: string | undefined;
  /** Why it was dead-lettered (its newest `x-death` entry); undefined when something published it there directly. */
  death: Death | undefined;
  /** Its caller's deadline (epoch ms, the `x-deadline` header). */
  deadline: number | undefined;
  headers: Record<string, unknown>;
  properties: MessageProperties;
  content: Buffer;
}

export interface DeadLetterSelection {
  /** Select at most this many, the oldest that match (default: all of them). */
  limit?: number;
  /** Only the messages whose message id or correlation id is one of these (default: any). */
  ids?: readonly string[];
}

export interface ReplayResult {
  letter: DeadLetter;
  /**
   * `replayed`: the broker confirmed it on the route's queue, then the dead letter was acked; `kept`: it is still
   * in the dead-letter queue (`reason` says why).
   */
  status: 'replayed' | 'kept';
  reason?: string;
  /** What the route answered a replayed message; undefined when no answer came by the replay's deadline. */
  answer?: ReplayAnswer;
}

export interface DeadLetterClientOptions extends Pick<ConnectionOptions, 'url' | 'connectionName' | 'closeTimeoutMs'> {
  /** Put before every route's queue name (default none), as the servers that serve them do. */
  queuePrefix?: string;
}

/**
 * Reads, replays and drops the messages of routes' dead-letter queues, for an operator's command
 * (`runDeadLetterCommand` of @warren/service-kit). One plain connection with one confirm channel: a command that loses
 * the broker fails, and every message it held unacked goes back to its queue.
 *
 * AMQP 0-9-1 has no way to read a queue without taking its messages: `take` gets them unacked (basic.get) and they
 * stay invisible to others until they are acked (replayed, dropped) or put back (`release`, or the channel closing).
 */
export class DeadLetterClient {
  private readonly answers = new Map<string, (body: Buffer | undefined) => void>();

  private constructor(
    private readonly connection: ChannelModel,
    private readonly channel: ConfirmChannel,
    private readonly options: DeadLetterClientOptions,
  ) {}

  static async open(options: DeadLetterClientOptions): Promise<DeadLetterClient> {
    const connection = await connect(options.url, {
      timeout: 5000,
      clientProperties: { connection_name: options.connectionName },
    });
    connection.on('error', () => undefined);
    try {
      const channel = await connection.createConfirmChannel();
      // A channel error (a queue that does not exist) rejects the operation that caused it, and closes the channel.
      channel.on('error', () => undefined);
      const client = new DeadLetterClient(connection, channel, options);
      // Replays are answered here: direct reply-to needs its consumer before anything is published on the channel.
      await channel.consume(DIRECT_REPLY_QUEUE, (message) => client.onAnswer(message), { noAck: true });
      return client;
    } catch (error) {
      await settlesWithin(connection.close(), options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS);
      throw error;
    }
  }

  /** The name of a route's dead-letter queue. */
  deadLetterQueueOf(route: string): string {
    return deadLetterQueueOf(queueNameOf(route, this.options));
  }

  /**
   * Takes every message of `route`'s dead-letter queue, oldest first, without settling them, and selects some. All
   * of them, whatever the selection: a quorum queue puts a message it gets back behind the others (RabbitMQ 3.10;
   * a classic queue back in its place), so only taking them all and putting them all back in order (`release`)
   * keeps the queue's order. No more than were waiting when it began, so a queue that keeps filling does not keep it
   * going. Throws a `not_found` RpcError when the route has no dead-letter queue.
   */
  async take(route: string, selection: DeadLetterSelection = {}): Promise<DeadLetterBatch> {
    const queue = this.deadLetterQueueOf(route);
    const status = await probeQueue(this.connection, queue);
    if (!status.exists) throw new RpcError('not_found', `there is no queue ${queue}`);
    const waiting = status.messages;
    const limit = selection.limit ?? Infinity;
    const taken: GetMessage[] = [];
    const selected = new Map<DeadLetter, GetMessage>();
    while (taken.length < waiting) {
      const message = await this.channel.get(queue, { noAck: false });
      if (!message) break;
      taken.push(message);
      const letter = deadLetterOf(message, taken.length);
      const chosen =
        !selection.ids || selection.ids.some((id) => id === letter.messageId || id === letter.correlationId);
      if (chosen && selected.size < limit) selected.set(letter, message);
    }
    return new DeadLetterBatch(this.channel, route, queueNameOf(route, this.options), waiting, taken, selected, (id) =>
      this.expectAnswer(id),
    );
  }

  /** Closes the connection: every message taken and not settled goes back to its queue. */
  async close(): Promise<void> {
    for (const resolve of this.answers.values()) resolve(undefined);
    const timeoutMs = this.options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
    // The channel first, so that the broker has taken its acks and nacks: a connection close can overtake them.
    await settlesWithin(this.channel.close(), timeoutMs);
    await settlesWithin(this.connection.close(), timeoutMs);
  }

  private expectAnswer(correlationId: string): { answer: Promise<Buffer | undefined>; cancel(): void } {
    let resolve!: (body: Buffer | undefined) => void;
    const answer = new Promise<Buffer | undefined>((settle) => (resolve = settle));
    this.answers.set(correlationId, resolve);
    return {
      answer: answer.finally(() => this.answers.delete(correlationId)),
      cancel: () => resolve(undefined),
    };
  }

  private onAnswer(message: ConsumeMessage | null): void {
    const correlationId = message?.properties.correlationId as string | undefined;
    if (message && correlationId) this.answers.get(correlationId)?.(message.content);
  }
}

/** Dead letters taken from one queue and held unacked until they are replayed, dropped or released. */
export class DeadLetterBatch {
  /** The selected dead letters, oldest first. */
  readonly letters: DeadLetter[];
  private readonly settled = new Set<Message>();

  /** @internal `DeadLetterClient.take` makes batches. */
  constructor(
    private readonly channel: ConfirmChannel,
    readonly route: string,
    private readonly routeQueue: string,
    /** Messages the queue held when `take` began. */
    readonly waiting: number,
    /** Every message taken, selected or not, in the queue's order. */
    private readonly taken: readonly GetMessage[],
    private readonly selected: ReadonlyMap<DeadLetter, GetMessage>,
    private readonly expectAnswer: (correlationId: string) => {
      answer: Promise<Buffer | undefined>;
      cancel(): void;
    },
  ) {
    this.letters = [...selected.keys()];
  }

  /**
   * Publishes each selected letter that `replayPlan` lets through onto the route's queue, as a new call whose caller
   * is this client: same body, headers (without the broker's history), message and correlation ids and idempotency
   * key; reply_to this channel; the deadline `replayPlan` gives it, also as the AMQP expiration. The dead letter is
   * acked only once the broker has confirmed the replay, so a failure at any point leaves it where it was. Then waits
   * for each replay's answer until its deadline.
   */
  async replay(options: ReplayOptions = {}): Promise<ReplayResult[]> {
    const results: ReplayResult[] = [];
    const answers: Promise<void>[] = [];
    const used = new Set<string>();
    for (const letter of this.letters) {
      const plan = replayPlan(letter.headers, Date.now(), options);
      if (!plan.replay) {
        results.push({ letter, status: 'kept', reason: plan.reason });
        continue;
      }
      // Its own correlation id when it has a unique one: the server's log lines and the trace carry it.
      const own = letter.correlationId;
      const correlationId = own && !used.has(own) ? own : `replay.${randomBytes(8).toString('hex')}`;
      used.add(correlationId);
      const expected = this.expectAnswer(correlationId);
      try {
        await this.publish(letter, plan.headers, plan.deadline, correlationId);
      } catch (error) {
        expected.cancel();
        results.push({ letter, status: 'kept', reason: (error as Error).message });
        continue;
      }
      this.ack(letter);
      const result: ReplayResult = { letter, status: 'replayed' };
      results.push(result);
      const timer = setTimeout(expected.cancel, Math.max(0, plan.deadline - Date.now()));
      answers.push(
        expected.answer.then((body) => {
          clearTimeout(timer);
          if (body) result.answer = answerOf(this.route, body);
        }),
      );
    }
    await Promise.all(answers);
    return results;
  }

  /** Acks every selected letter: they leave the dead-letter queue for good. Returns how many. */
  drop(): number {
    for (const letter of this.letters) this.ack(letter);
    return this.letters.length;
  }

  /**
   * Puts back, in the order taken, every message not acked: nack with requeue. Messages that arrived in the queue
   * since `take` now come before them. A quorum queue counts each as a delivery (`x-delivery-count`, up to RabbitMQ
   * 4.2); see RELIABILITY.md.
   */
  release(): void {
    try {
      for (const message of this.taken) {
        if (this.settled.has(message)) continue;
        this.settled.add(message);
        this.channel.nack(message, false, true);
      }
    } catch {
      // The channel is closed: the broker has put back whatever it had delivered to it.
    }
  }

  private ack(letter: DeadLetter): void {
    const message = this.selected.get(letter)!;
    this.channel.ack(message);
    this.settled.add(message);
  }

  private publish(letter: DeadLetter, headers: Record<string, unknown>, deadline: number, correlationId: string) {
    const { properties } = letter;
    return new Promise<void>((resolve, reject) => {
      // With mandatory, an unroutable message comes back (basic.return) before its confirm.
      let returned = false;
      const onReturn = (message: Message) => {
        if (message.properties.correlationId === correlationId) returned = true;
      };
      this.channel.on('return', onReturn);
      const done = (error: unknown) => {
        this.channel.off('return', onReturn);
        if (error) reject(new RpcUnavailableError(`the broker did not take the replay onto ${this.routeQueue}`));
        else if (returned) reject(new RpcNoRouteError(this.routeQueue));
        else resolve();
      };
      try {
        this.channel.publish(
          '',
          this.routeQueue,
          letter.content,
          {
            correlationId,
            replyTo: DIRECT_REPLY_QUEUE,
            expiration: String(Math.max(1, deadline - Date.now())),
            headers,
            messageId: properties.messageId,
            contentType: properties.contentType,
            contentEncoding: properties.contentEncoding,
            timestamp: properties.timestamp,
            type: properties.type,
            appId: properties.appId,
            persistent: true,
            mandatory: true,
          },
          done,
        );
      } catch (error) {
        done(error);
      }
    });
  }
}

function deadLetterOf(message: GetMessage, position: number): DeadLetter {
  const headers = (message.properties.headers ?? {}) as Record<string, unknown>;
  return {
    position,
    messageId: message.properties.messageId as string | undefined,
    correlationId: message.properties.correlationId as string | undefined,
    death: deathOf(headers),
    deadline: deadlineOf(headers),
    headers,
    properties: message.properties,
    content: message.content,
  };
}
