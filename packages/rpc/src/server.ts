import { callerOf, type Caller } from './caller';
import type { Context } from '@opentelemetry/api';
import type { Channel, ChannelModel, ConsumeMessage, RecoveringChannelModel } from 'amqplib';
import type { Registry } from 'prom-client';
import {
  DEFAULT_CLOSE_TIMEOUT_MS,
  openRecoveringConnection,
  reconnectScheduleOf,
  type ConnectionOptions,
} from './connection';
import { beforeDeadline, settlesWithin } from './deadline';
import type { CallParent } from './client';
import { JSON_CONTENT_TYPE, deadlineOf, encodeError, encodeResult, idempotencyKeyOf } from './envelope';
import { RpcError } from './errors';
import { silentLogger, type RpcLogger } from './logger';
import { rpcMetrics, type RpcMetrics } from './metrics';
import { probeQueue } from './queue-probe';
import {
  LEGACY_QUEUE_ARGUMENTS,
  deadLetterQueueOf,
  queueNameOf,
  routeQueueDeclaration,
  type QueueSettings,
} from './queues';
import { reconnectDelayMs } from './reconnect';
import { declareRouteQueue } from './route-queue';
import type { RouteDefinition, RouteParsedRequest, RouteReplyInput } from './route';
import { context, endSpan, startServerSpan } from './tracing';
import { WriteGate } from './write-gate';

/** Each route gets a `<queue>.dead-letter` queue on the dead-letter exchange (see QueueSettings). */
export interface RpcServerOptions extends ConnectionOptions, QueueSettings {
  logger?: RpcLogger;
  registry?: Registry;
  /** How long `close()` lets in-flight handlers finish (default 10000 ms). */
  drainTimeoutMs?: number;
}

/**
 * What a handler knows about the message besides its payload. It is the CallParent of the calls the handler makes:
 * `client.call(route, payload, { parent: context })` carries deadline, trace context, baggage and idempotency key on.
 */
export interface HandlerContext extends CallParent {
  route: string;
  correlationId: string;
  messageId: string | undefined;
  /** Epoch ms after which nobody waits for the reply. */
  deadline: number | undefined;
  /**
   * Aborts at `deadline` (its reason a `deadline_exceeded` RpcError), so work nobody waits for stops: pass it to
   * what the handler waits on. Nested calls made with `{ parent: context }` are aborted with it. Never aborts
   * without a deadline.
   */
  signal: AbortSignal;
  /** The command's idempotency key (validated: 1 to 255 characters), when the caller sent one. */
  idempotencyKey: string | undefined;
  /** Who the call is made for (validated), when the caller named someone; undefined when auth is off. */
  caller: Caller | undefined;
  /** The handler's span, in the context the caller's trace context and baggage were extracted into. */
  traceContext: Context;
  redelivered: boolean;
  headers: Readonly<Record<string, unknown>>;
}

export type RouteHandler<Route extends RouteDefinition> = (
  request: RouteParsedRequest<Route>,
  context: HandlerContext,
) => Promise<RouteReplyInput<Route>> | RouteReplyInput<Route>;

export interface HandleOptions {
  /** Messages handled at once; also the channel's prefetch. */
  concurrency?: number;
}

interface Binding {
  route: RouteDefinition;
  handler: RouteHandler<RouteDefinition>;
  concurrency: number;
  channel: Channel | null;
  consumerTag: string | null;
  inFlight: number;
}

const DEAD_LETTER_REASONS = ['missing_reply_to', 'undecodable', 'invalid_payload'] as const;
type DeadLetterReason = (typeof DEAD_LETTER_REASONS)[number];

/** How long a scrape waits for the broker's count of one dead-letter queue; past it the queue has no sample. */
const DEAD_LETTER_PROBE_TIMEOUT_MS = 1000;

type DecodedRequest =
  | { ok: true; request: unknown }
  | { ok: false; reason: Exclude<DeadLetterReason, 'missing_reply_to'>; error: RpcError };

/**
 * Serves routes from their durable queues: validates each request against
 * its route's schema, runs the handler, replies to `reply_to` with the same
 * `correlation_id`, then acks. `close()` drains in-flight work first.
 */
export class RpcServer {
  private readonly bindings = new Map<string, Binding>();
  /** Each route channel's write backpressure, which its replies honour. */
  private readonly writeGates = new WeakMap<Channel, WriteGate>();
  private readonly logger: RpcLogger;
  private readonly metrics: RpcMetrics;
  private connection: RecoveringChannelModel | null = null;
  private inFlight = 0;
  private draining = false;
  private onIdle: (() => void) | null = null;

  constructor(private readonly options: RpcServerOptions) {
    this.logger = options.logger ?? silentLogger;
    this.metrics = rpcMetrics(options.registry);
    this.metrics.serverInFlightSources.add(this.inFlightByRoute);
    this.metrics.deadLetterSources.add(this.deadLetterDepths);
  }

  private readonly inFlightByRoute = () =>
    [...this.bindings.values()].map((binding) => [binding.route.name, binding.inFlight] as const);

  // rpc_dead_letter_messages: each queue on a probe channel of its own, bounded, so a scrape never waits on the broker.
  private readonly deadLetterDepths = async () => {
    const connection = this.connection;
    if (!connection || this.draining) return [];
    const depths = await Promise.all(
      [...this.bindings.values()].map((binding) => {
        const queue = deadLetterQueueOf(queueNameOf(binding.route.name, this.options));
        const probe = beforeDeadline(
          probeQueue(connection, queue),
          Date.now() + DEAD_LETTER_PROBE_TIMEOUT_MS,
          () => new Error(`no count of ${queue} in time`),
        );
        return probe.then(
          (status) => (status.exists ? [[queue, status.messages] as const] : []),
          () => [],
        );
      }),
    );
    return depths.flat();
  };

  /** Registers the handler of a route; call it before `start()`. */
  handle<Route extends RouteDefinition>(route: Route, handler: RouteHandler<Route>, options: HandleOptions = {}): this {
    if (this.connection) throw new Error(`handle(${route.name}) must be called before start()`);
    if (this.bindings.has(route.name)) throw new Error(`route ${route.name} already has a handler`);
    const concurrency = options.concurrency ?? 16;
    if (!Number.isInteger(concurrency) || concurrency < 1)
      throw new RangeError('concurrency must be a positive integer');
    this.bindings.set(route.name, {
      route,
      handler: handler as RouteHandler<RouteDefinition>,
      concurrency,
      channel: null,
      consumerTag: null,
      inFlight: 0,
    });
    // Series that exist at zero from the start: a route's first expiry or dead letter then shows as an increase.
    this.metrics.serverExpired.inc({ route: route.name }, 0);
    for (const reason of DEAD_LETTER_REASONS) this.metrics.serverDeadLettered.inc({ route: route.name, reason }, 0);
    return this;
  }

  /** Connects, declares every route's queues and starts consuming; recovers on its own afterwards. */
  async start(): Promise<void> {
    if (this.connection) return;
    this.connection = await openRecoveringConnection(
      this.options,
      { setup: (model) => this.setUpConsumers(model), onDisconnect: () => this.forgetChannels() },
      this.logger,
    );
    await this.connection.waitForConnect();
  }

  /** True while every route has a consuming channel. */
  get isConsuming(): boolean {
    if (this.draining || this.bindings.size === 0) return false;
    for (const binding of this.bindings.values()) if (!binding.consumerTag) return false;
    return true;
  }

  /** Requests being handled right now. */
  get inFlightCount(): number {
    return this.inFlight;
  }

  /**
   * Stops consuming, lets in-flight handlers finish within the drain timeout,
   * then closes the connection. Unfinished messages are redelivered elsewhere.
   * Each wait on the broker is bounded by `closeTimeoutMs`: a broker that does
   * not answer does not hold the shutdown.
   */
  async close(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    const closeTimeoutMs = this.options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
    await Promise.all(
      [...this.bindings.values()].map(async (binding) => {
        if (binding.channel && binding.consumerTag)
          await settlesWithin(binding.channel.cancel(binding.consumerTag), closeTimeoutMs);
        binding.consumerTag = null;
      }),
    );
    if (this.inFlight > 0) {
      const drainTimeoutMs = this.options.drainTimeoutMs ?? 10_000;
      let timer: NodeJS.Timeout | undefined;
      const drained = await Promise.race([
        new Promise<boolean>((resolve) => (this.onIdle = () => resolve(true))),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), drainTimeoutMs))),
      ]);
      clearTimeout(timer);
      if (!drained) this.logger.warn({ inFlight: this.inFlight, drainTimeoutMs }, 'rpc server drain timed out');
    }
    // Closing each channel first flushes its replies and acks: a connection close can overtake them.
    await Promise.all(
      [...this.bindings.values()].map((binding) =>
        binding.channel ? settlesWithin(binding.channel.close(), closeTimeoutMs) : undefined,
      ),
    );
    const connection = this.connection;
    this.connection = null;
    this.forgetChannels();
    this.metrics.serverInFlightSources.delete(this.inFlightByRoute);
    this.metrics.deadLetterSources.delete(this.deadLetterDepths);
    if (connection) await settlesWithin(connection.close(), closeTimeoutMs);
  }

  private async setUpConsumers(model: ChannelModel): Promise<void> {
    for (const binding of this.bindings.values()) {
      // One channel per route: its prefetch is the route's concurrency, and a fault stays contained.
      const channel = await model.createChannel();
      channel.on('error', (error: Error) =>
        this.logger.warn({ route: binding.route.name, err: error.message }, 'rpc server channel error'),
      );
      channel.on('close', () => {
        if (binding.channel !== channel) return;
        binding.channel = null;
        binding.consumerTag = null;
        if (!this.draining) model.close().catch(() => undefined);
      });
      await channel.prefetch(binding.concurrency);
      this.writeGates.set(channel, new WriteGate(channel));
      binding.channel = channel;
      await this.consumeRoute(binding, channel, model);
    }
  }

  /**
   * Declares a route's dead-letter queue on its channel and the route's queue (see declareRouteQueue), then consumes
   * the queue (not while draining).
   */
  private async consumeRoute(
    binding: Binding,
    channel: Channel,
    connection: Pick<ChannelModel, 'createChannel'>,
  ): Promise<void> {
    const { deadLetterExchange, queueArguments, deadLetterQueueArguments } = routeQueueDeclaration(this.options);
    const queue = queueNameOf(binding.route.name, this.options);
    await channel.assertExchange(deadLetterExchange, 'direct', { durable: true });
    await channel.assertQueue(deadLetterQueueOf(queue), { durable: true, arguments: deadLetterQueueArguments });
    await channel.bindQueue(deadLetterQueueOf(queue), deadLetterExchange, queue);
    if ((await declareRouteQueue(connection, queue, queueArguments)) === 'legacy') {
      this.logger.warn(
        { route: binding.route.name, queue, arguments: LEGACY_QUEUE_ARGUMENTS },
        'rpc route queue keeps the dead-letter arguments of an earlier version: the route queue policy applies to ' +
          'it only in part until it is deleted while idle and declared again',
      );
    }
    if (this.draining) return;
    const { consumerTag } = await channel.consume(queue, (message) => void this.onMessage(binding, channel, message));
    binding.consumerTag = consumerTag;
  }

  /**
   * After the broker cancelled a route's consumer (its queue deleted, the node holding it lost), declares and consumes
   * it again on the same channel, on the connection's backoff: the first delay, then doubling with jitter. Not at
   * once: RabbitMQ 4 cancels a deleted quorum queue's consumers before the queue is gone, so a declaration then
   * finds the dying queue and the consume fails 404. Not consuming meanwhile, the server is not ready
   * (`isConsuming`). Stops when the channel is gone, whose recovery re-creates every consumer (a failed declaration
   * closes the channel), or when the server drains.
   */
  private async consumeAgain(binding: Binding, channel: Channel): Promise<void> {
    const schedule = reconnectScheduleOf(this.options);
    for (let attempt = 1; ; attempt++) {
      const delayMs = reconnectDelayMs(attempt, false, schedule);
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
      const connection = this.connection;
      if (this.draining || !connection || binding.channel !== channel || binding.consumerTag) return;
      try {
        await this.consumeRoute(binding, channel, connection);
        this.logger.info({ route: binding.route.name, attempt }, 'rpc consumer restored');
        return;
      } catch (error) {
        this.logger.warn(
          { route: binding.route.name, attempt, err: (error as Error).message },
          'rpc consumer not restored',
        );
      }
    }
  }

  private forgetChannels(): void {
    for (const binding of this.bindings.values()) {
      binding.channel = null;
      binding.consumerTag = null;
    }
  }

  private async onMessage(binding: Binding, channel: Channel, message: ConsumeMessage | null): Promise<void> {
    const route = binding.route.name;
    if (!message) {
      this.logger.warn({ route }, 'rpc consumer cancelled by the broker: consuming again');
      binding.consumerTag = null;
      this.metrics.serverConsumerCancellations.inc({ route });
      void this.consumeAgain(binding, channel);
      return;
    }
    const {
      correlationId,
      replyTo,
      messageId,
      headers = {},
    } = message.properties as {
      correlationId?: string;
      replyTo?: string;
      messageId?: string;
      headers?: Record<string, unknown>;
    };
    if (!correlationId || !replyTo) {
      this.deadLetter(channel, message, route, 'missing_reply_to');
      return;
    }
    const deadline = deadlineOf(headers);
    if (deadline !== undefined && Date.now() >= deadline) {
      this.metrics.serverExpired.inc({ route });
      this.safely(() => channel.ack(message));
      return;
    }

    const startedAt = performance.now();
    this.inFlight++;
    binding.inFlight++;
    const { span, spanContext } = startServerSpan(route, correlationId, headers);
    let outcome: 'ok' | 'error' | 'invalid' = 'ok';
    let failure: unknown;
    let reply: Buffer;
    const decoded = this.decode(binding, message);
    const deadlineSignal = abortsAt(deadline);
    try {
      if (!decoded.ok) {
        outcome = 'invalid';
        failure = decoded.error;
        reply = encodeError(decoded.error);
      } else {
        const handlerContext: HandlerContext = {
          route,
          correlationId,
          messageId,
          deadline,
          signal: deadlineSignal.signal,
          idempotencyKey: idempotencyKeyOf(headers),
          caller: callerOf(headers),
          traceContext: spanContext,
          redelivered: message.fields.redelivered,
          headers,
        };
        const result = await context.with(spanContext, () => binding.handler(decoded.request, handlerContext));
        reply = encodeResult(binding.route.reply.parse(result));
      }
    } catch (error) {
      outcome = 'error';
      failure = error;
      if (!(error instanceof RpcError)) this.logger.error({ route, err: error }, 'rpc handler failed');
      reply = encodeError(error);
    } finally {
      deadlineSignal.clear();
    }

    // While the channel's write buffer is full the reply and its ack wait for its drain, still in flight (so close()
    // waits for them too) and holding the prefetch slot, so the broker delivers no more than can be answered. Should
    // the channel close first, the unacked message is redelivered.
    const writes = this.writeGates.get(channel)!; // set with the channel, before its consumers
    if (writes.isHolding) this.metrics.serverRepliesHeld.inc({ route });
    await writes.write(() => {
      let room = true;
      this.safely(() => {
        room = channel.publish('', replyTo, reply, { correlationId, contentType: JSON_CONTENT_TYPE });
        // A handler's error is an answer too, `unavailable` (its database is down) included: the caller hears it at
        // once and may retry, with its idempotency key, which the handler dedupes. Requeueing the message instead
        // would spin on a database that is down, use up the delivery limit (dead-lettering a good request) and leave
        // the caller waiting for its deadline. Only a message that is not answered (the worker died, or the channel
        // closed before the ack) is redelivered. An invalid message: the caller hears why, the message is kept on
        // the dead-letter queue.
        if (decoded.ok) channel.ack(message);
        else this.deadLetter(channel, message, route, decoded.reason);
      });
      return room;
    });
    endSpan(span, failure);
    this.metrics.serverDuration.observe(route, outcome, (performance.now() - startedAt) / 1000);
    if (outcome !== 'ok') {
      this.metrics.serverErrors.inc({ route, code: failure instanceof RpcError ? failure.code : 'internal' });
    }
    binding.inFlight--;
    if (--this.inFlight === 0 && this.onIdle) {
      this.onIdle();
      this.onIdle = null;
    }
  }

  /** The parsed request, or an `invalid_argument` error saying why the body is not one. */
  private decode(binding: Binding, message: ConsumeMessage): DecodedRequest {
    const route = binding.route.name;
    let payload: unknown;
    try {
      payload = JSON.parse(message.content.toString('utf8'));
    } catch {
      return {
        ok: false,
        reason: 'undecodable',
        error: new RpcError('invalid_argument', `request to ${route} is not valid JSON`),
      };
    }
    const parsed = binding.route.request.safeParse(payload);
    if (parsed.success) return { ok: true, request: parsed.data };
    return {
      ok: false,
      reason: 'invalid_payload',
      error: new RpcError('invalid_argument', `request to ${route} does not match its schema`, {
        details: parsed.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message })),
      }),
    };
  }

  private deadLetter(channel: Channel, message: ConsumeMessage, route: string, reason: DeadLetterReason): void {
    this.metrics.serverDeadLettered.inc({ route, reason });
    this.logger.warn(
      { route, reason, correlationId: message.properties.correlationId, bytes: message.content.length },
      'rpc message dead-lettered',
    );
    this.safely(() => channel.nack(message, false, false));
  }

  // A channel that closed under us throws; the broker redelivers what we could not ack.
  private safely(action: () => void): void {
    try {
      action();
    } catch (error) {
      this.logger.warn({ err: (error as Error).message }, 'rpc server could not reach the broker');
    }
  }
}

/** A signal that aborts at `deadline` (epoch ms), and the way to stop its timer once the work is done. */
function abortsAt(deadline: number | undefined): { signal: AbortSignal; clear(): void } {
  const controller = new AbortController();
  if (deadline === undefined) return { signal: controller.signal, clear: () => undefined };
  const timer = setTimeout(
    () => controller.abort(new RpcError('deadline_exceeded', 'the deadline of the request passed')),
    Math.max(0, deadline - Date.now()),
  );
  return { signal: controller.signal, clear: () => clearTimeout(timer) };
}
