import { writeCaller, type Caller } from './caller';
import { randomBytes } from 'node:crypto';
import { context, type Context, type Span } from '@opentelemetry/api';
import type { ChannelModel, ConfirmChannel, ConsumeMessage, Message, RecoveringChannelModel } from 'amqplib';
import type { Registry } from 'prom-client';
import { DEFAULT_CLOSE_TIMEOUT_MS, openRecoveringConnection, type ConnectionOptions } from './connection';
import { ConsumerCounts } from './consumer-counts';
import { beforeDeadline, effectiveDeadline, settlesWithin } from './deadline';
import {
  DEADLINE_HEADER,
  DIRECT_REPLY_QUEUE,
  IDEMPOTENCY_KEY_HEADER,
  JSON_CONTENT_TYPE,
  decodeReply,
} from './envelope';
import {
  RpcAbortedError,
  RpcError,
  RpcNoRouteError,
  RpcOverloadedError,
  RpcTimeoutError,
  RpcUnavailableError,
} from './errors';
import { silentLogger, type RpcLogger } from './logger';
import { rpcMetrics, type CallOutcome, type RpcMetrics } from './metrics';
import { probeQueue, type QueueStatus } from './queue-probe';
import { queueNameOf } from './queues';
import type { RouteDefinition, RouteReply, RouteRequest } from './route';
import { endSpan, startClientSpan } from './tracing';
import { WriteGate } from './write-gate';

export interface RpcClientOptions extends ConnectionOptions {
  /** How long a call waits for its reply when it names no `timeoutMs` (default 5000 ms). */
  defaultTimeoutMs?: number;
  /** How long `routeStatus` waits when it names no `timeoutMs` (default 1000 ms). */
  routeStatusTimeoutMs?: number;
  logger?: RpcLogger;
  /** Where the RPC metrics are registered; prom-client's default registry when omitted. */
  registry?: Registry;
  /**
   * Calls in flight at once (default: no limit). Past it a call is refused at once with RpcOverloadedError, counted
   * in `rpc_client_shed_total`, instead of joining a queue that only grows: load shedding.
   */
  maxInFlight?: number;
  /**
   * Refuse at once, as `unavailable`, a call whose route's queue is known to have no consumer (default false): a
   * durable queue keeps the message, and the call would wait its whole timeout for a worker that is not there.
   */
  failFastWithoutConsumer?: boolean;
  /** How long a route's consumer count is reused before the broker is asked again (default 1000 ms). */
  consumerCountTtlMs?: number;
  /** Put before every route's queue name (default none), as the servers that serve them do. */
  queuePrefix?: string;
}

/**
 * What a call inherits from the work it is made for: the message a handler is serving (a HandlerContext is one),
 * or the HTTP request a gateway is answering.
 */
export interface CallParent {
  /** Epoch ms after which nobody waits for the parent's answer: the call ends by then too. */
  deadline?: number | undefined;
  /** The parent's OpenTelemetry context: the call's span is its child, and its baggage travels on. */
  traceContext?: Context;
  /** The parent command's idempotency key: the nested command it issues is repeated, not redone, on a retry. */
  idempotencyKey?: string | undefined;
  /** Who the parent was called for: the nested call is made for them too. */
  caller?: Caller | undefined;
  /** Aborts when the parent's work is no longer wanted (a handler's fires at its deadline): the call is aborted too. */
  signal?: AbortSignal | undefined;
}

export interface CallOptions {
  /** How long the call may take from now (default: the client's `defaultTimeoutMs`). */
  timeoutMs?: number;
  /**
   * Epoch ms by which the call is over, whatever it waits on: the deadline of the request it serves (taken when
   * the gateway accepted it, or a worker's incoming one), so time already spent counts. The earlier of this and
   * `timeoutMs` wins. Past it, a call not yet sent is refused as `unavailable`, a sent one ends `deadline_exceeded`.
   */
  deadline?: number;
  signal?: AbortSignal;
  /** What the call inherits: deadline, trace context and baggage, idempotency key (see CallParent). */
  parent?: CallParent;
  /** Extra AMQP headers; deadline, trace context and idempotency key are added by the client. */
  headers?: Record<string, string>;
}

/** How long `routeStatus` may wait: the earlier of the two wins, as for a call. */
export interface RouteStatusOptions {
  timeoutMs?: number;
  deadline?: number;
}

/** Whether a route's queue exists, its consumers and its ready messages. */
export type RouteStatus = QueueStatus;

interface PendingCall {
  route: string;
  /** Published: from here a deadline is a timeout, before it the call was never sent. */
  sent: boolean;
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
  span: Span;
  startedAt: number;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/**
 * Calls routes over RabbitMQ and waits for their replies on direct reply-to.
 * Every call settles exactly once (reply, timeout, no route, broker loss or
 * abort) and leaves nothing behind in the pending map.
 */
export class RpcClient {
  private readonly pending = new Map<string, PendingCall>();
  private readonly logger: RpcLogger;
  private readonly metrics: RpcMetrics;
  private readonly defaultTimeoutMs: number;
  private readonly maxInFlight: number;
  private readonly consumerCounts: ConsumerCounts;
  // Correlation ids are a per-client random prefix plus a counter: unique and cheap.
  private readonly idPrefix = randomBytes(6).toString('base64url');
  private nextId = 0;
  private channel: ConfirmChannel | null = null;
  /** The channel's write backpressure: requests wait here while its write buffer is full. */
  private writes: WriteGate | null = null;
  private connection: RecoveringChannelModel | null = null;
  private closed = false;
  /** Why the broker blocks this connection's publishes (a resource alarm), or null while it does not. */
  private publishingBlockedBy: string | null = null;

  constructor(private readonly options: RpcClientOptions) {
    this.logger = options.logger ?? silentLogger;
    this.metrics = rpcMetrics(options.registry);
    this.defaultTimeoutMs = options.defaultTimeoutMs ?? 5000;
    this.maxInFlight = options.maxInFlight ?? Infinity;
    if (!(this.maxInFlight >= 1)) throw new RangeError('maxInFlight must be at least 1');
    this.consumerCounts = new ConsumerCounts(
      (routeName) =>
        this.isConnected ? this.routeStatus(routeName).then((status) => status.consumers) : Promise.resolve(undefined),
      options.consumerCountTtlMs ?? 1000,
    );
    this.metrics.clientInFlightSources.add(this.inFlightByRoute);
  }

  private readonly inFlightByRoute = () => {
    const counts = new Map<string, number>();
    for (const call of this.pending.values()) counts.set(call.route, (counts.get(call.route) ?? 0) + 1);
    return counts;
  };

  /** Connects and resolves once the reply consumer is ready; reconnects on its own afterwards. */
  async start(): Promise<void> {
    if (this.connection) return;
    this.connection = await openRecoveringConnection(
      this.options,
      { setup: (model) => this.setUpChannel(model), onDisconnect: (error) => this.onConnectionLost(error) },
      this.logger,
    );
    await this.connection.waitForConnect();
  }

  /** True while a channel to the broker is open, so calls can be made. */
  get isConnected(): boolean {
    return this.channel !== null;
  }

  /** Calls made but not yet settled: what `maxInFlight` limits. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /**
   * Throws RpcOverloadedError, counted under route `*`, while `maxInFlight` calls are in flight. A server calls it
   * when a request arrives, to refuse it before spending anything on it (logging, parsing, validation): under
   * overload a refusal has to cost far less than serving, or the refusals alone saturate the process.
   */
  assertCapacity(): void {
    if (this.pending.size < this.maxInFlight) return;
    this.metrics.clientShed.inc({ route: ANY_ROUTE });
    throw new RpcOverloadedError(ANY_ROUTE, this.maxInFlight);
  }

  /**
   * How many consumers a route's queue has, from counts reused for `consumerCountTtlMs`; undefined when it cannot be
   * known right now, or by `deadline` (epoch ms) for a route asked about for the first time.
   */
  consumerCount(routeName: string, deadline?: number): Promise<number | undefined> {
    return this.consumerCounts.consumers(routeName, deadline).catch(() => undefined);
  }

  /** Calls `route` and resolves with its typed reply, or rejects with an RpcError. */
  call<Route extends RouteDefinition>(
    route: Route,
    payload: RouteRequest<Route>,
    options: CallOptions = {},
  ): Promise<RouteReply<Route>> {
    return this.send(route.name, payload, options) as Promise<RouteReply<Route>>;
  }

  /**
   * Whether a route's queue exists and how many consumers and ready messages it has. Ends by its deadline with an
   * RpcTimeoutError whatever the broker does (a probe channel that opens later is closed then); `unavailable` when
   * there is no connection or the broker fails the probe.
   */
  routeStatus(routeName: string, options: RouteStatusOptions = {}): Promise<RouteStatus> {
    const connection = this.connection;
    if (!connection || !this.channel) return Promise.reject(new RpcUnavailableError('not connected to the broker'));
    const timeoutMs = options.timeoutMs ?? this.options.routeStatusTimeoutMs ?? 1000;
    const deadline = effectiveDeadline(Date.now(), timeoutMs, options.deadline);
    return beforeDeadline(
      probeQueue(connection, queueNameOf(routeName, this.options)),
      deadline,
      () => new RpcTimeoutError(`the broker on the status of ${routeName}`, timeoutMs),
    );
  }

  /** Rejects every pending call and closes the connection, waiting at most `closeTimeoutMs` for the broker. */
  async close(): Promise<void> {
    this.closed = true;
    this.metrics.clientInFlightSources.delete(this.inFlightByRoute);
    this.failAll(new RpcUnavailableError('rpc client closed'));
    const connection = this.connection;
    this.connection = null;
    this.channel = null;
    if (connection) await settlesWithin(connection.close(), this.options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS);
  }

  private send(route: string, payload: unknown, options: CallOptions): Promise<unknown> {
    if (!this.channel) return Promise.reject(new RpcUnavailableError('not connected to the broker'));
    // A blocked connection's publishes wait in the broker's socket until the alarm clears: a call would sit there
    // until its deadline (a 504 after the full wait). Refused at once instead, it is a 503 its caller may retry.
    if (this.publishingBlockedBy !== null) {
      return Promise.reject(new RpcUnavailableError(`the broker blocks publishing: ${this.publishingBlockedBy}`));
    }
    const { parent } = options;
    const signals = [options.signal, parent?.signal].filter((each): each is AbortSignal => each !== undefined);
    const signal = signals.length > 1 ? AbortSignal.any(signals) : signals[0];
    if (signal?.aborted) return Promise.reject(new RpcAbortedError(route, signal.reason));
    const now = Date.now();
    const deadline = effectiveDeadline(
      now,
      options.timeoutMs ?? this.defaultTimeoutMs,
      earliest(options.deadline, parent?.deadline),
    );
    const timeoutMs = deadline - now;
    if (!(timeoutMs > 0)) {
      return Promise.reject(new RpcUnavailableError(`the deadline of a call to ${route} passed before it was sent`));
    }
    if (this.pending.size >= this.maxInFlight) {
      this.metrics.clientShed.inc({ route });
      return Promise.reject(new RpcOverloadedError(route, this.maxInFlight));
    }

    let body: Buffer;
    try {
      body = Buffer.from(JSON.stringify(payload));
    } catch (cause) {
      return Promise.reject(new RpcError('invalid_argument', `payload for ${route} is not serializable`, { cause }));
    }

    const correlationId = `${this.idPrefix}.${(this.nextId++).toString(36)}`;
    const headers: Record<string, unknown> = { ...options.headers, [DEADLINE_HEADER]: deadline };
    if (parent?.idempotencyKey !== undefined) headers[IDEMPOTENCY_KEY_HEADER] = parent.idempotencyKey;
    if (parent?.caller !== undefined) writeCaller(headers, parent.caller);
    const span = startClientSpan(route, correlationId, headers, parent?.traceContext ?? context.active());

    return new Promise((resolve, reject) => {
      const call: PendingCall = {
        route,
        sent: false,
        resolve,
        reject,
        span,
        startedAt: performance.now(),
        signal,
        onAbort: undefined,
        timer: setTimeout(() => {
          if (!call.sent) {
            this.settle(
              correlationId,
              'unavailable',
              new RpcUnavailableError(`the deadline of a call to ${route} passed before it was sent`),
            );
            return;
          }
          this.metrics.clientTimeouts.inc({ route });
          this.settle(correlationId, 'timeout', new RpcTimeoutError(route, timeoutMs));
        }, timeoutMs),
      };
      if (signal) {
        call.onAbort = () => this.settle(correlationId, 'aborted', new RpcAbortedError(route, signal.reason));
        signal.addEventListener('abort', call.onAbort, { once: true });
      }
      this.pending.set(correlationId, call);
      const message: OutgoingMessage = { route, correlationId, body, headers, deadline };
      if (this.options.failFastWithoutConsumer) void this.publishWhenServed(call, message, deadline);
      else this.publish(call, message);
    });
  }

  /** Publishes once the route is known to have a consumer, or not known to have none; refuses it otherwise. */
  private async publishWhenServed(call: PendingCall, message: OutgoingMessage, deadline: number): Promise<void> {
    let consumers: number | undefined;
    try {
      consumers = await this.consumerCounts.consumers(message.route, deadline);
    } catch (notKnownInTime) {
      // The deadline passed before the first count came: settled here rather than by the call's timer, which may
      // fire a moment later than this one and would then find the call sent (a 504 for a call never made).
      this.settle(message.correlationId, 'unavailable', notKnownInTime as RpcUnavailableError);
      return;
    }
    if (this.pending.get(message.correlationId) !== call) return; // settled meanwhile: timed out, aborted, closed
    if (consumers === 0) {
      this.settle(
        message.correlationId,
        'unavailable',
        new RpcUnavailableError(`no consumer is serving ${message.route}`),
      );
      return;
    }
    this.publish(call, message);
  }

  private publish(call: PendingCall, message: OutgoingMessage): void {
    const channel = this.channel;
    const writes = this.writes;
    if (!channel || !writes) {
      this.settle(message.correlationId, 'unavailable', new RpcUnavailableError('not connected to the broker'));
      return;
    }
    if (writes.isHolding) this.metrics.clientPublishesHeld.inc({ route: message.route });
    // A call that settled while it was held (its deadline passed, it was aborted) is never sent: nobody would wait
    // for its reply, and its deadline passing unsent makes it `unavailable`, which any caller may retry.
    void writes.write(() =>
      this.pending.get(message.correlationId) === call ? this.publishNow(channel, call, message) : true,
    );
  }

  /** Publishes the call's request; returns what publish returned (false: the channel's write buffer is full). */
  private publishNow(channel: ConfirmChannel, call: PendingCall, message: OutgoingMessage): boolean {
    const { route, correlationId } = message;
    call.sent = true;
    try {
      return channel.publish(
        '',
        queueNameOf(route, this.options),
        message.body,
        {
          correlationId,
          replyTo: DIRECT_REPLY_QUEUE,
          contentType: JSON_CONTENT_TYPE,
          // The broker drops the message once nobody waits for its reply any more (time held before this counts).
          expiration: String(Math.max(1, message.deadline - Date.now())),
          persistent: true,
          mandatory: true,
          headers: message.headers,
        },
        (error: unknown) => {
          if (error) {
            this.settle(
              correlationId,
              'unavailable',
              new RpcUnavailableError(`broker refused the message for ${route}`),
            );
          }
        },
      );
    } catch (cause) {
      this.settle(correlationId, 'unavailable', new RpcUnavailableError(`could not publish to ${route}`, { cause }));
      return true;
    }
  }

  private settle(correlationId: string, outcome: CallOutcome, error: Error | null, result?: unknown): void {
    const call = this.pending.get(correlationId);
    if (!call) return;
    this.pending.delete(correlationId);
    clearTimeout(call.timer);
    if (call.onAbort) call.signal?.removeEventListener('abort', call.onAbort);
    const seconds = (performance.now() - call.startedAt) / 1000;
    this.metrics.clientDuration.observe(call.route, outcome, seconds);
    endSpan(call.span, error ?? undefined);
    if (error) call.reject(error);
    else call.resolve(result);
  }

  private onReply(message: ConsumeMessage | null): void {
    if (!message) return;
    const { correlationId } = message.properties as { correlationId?: string };
    if (!correlationId || !this.pending.has(correlationId)) {
      // Ours (our prefix) but settled: it came after its timeout or abort. Anything else was never ours.
      const reason = correlationId?.startsWith(`${this.idPrefix}.`) ? 'late' : 'unknown';
      this.metrics.clientUnmatchedReplies.inc({ reason });
      this.logger.debug({ correlationId, reason }, 'rpc reply matched no pending call');
      return;
    }
    const route = this.pending.get(correlationId)!.route;
    try {
      this.settle(correlationId, 'ok', null, decodeReply(route, message.content));
    } catch (error) {
      this.settle(correlationId, 'error', error as Error);
    }
  }

  private onReturn(message: Message): void {
    const { correlationId } = message.properties as { correlationId?: string };
    const call = correlationId ? this.pending.get(correlationId) : undefined;
    if (call) this.settle(correlationId!, 'no_route', new RpcNoRouteError(call.route));
  }

  private async setUpChannel(model: ChannelModel): Promise<void> {
    // On the model itself, from the start: the recovering connection passes these on only once setup is done, and a
    // broker in alarm may say so while it runs.
    this.publishingBlockedBy = null;
    model.on('blocked', (reason: string) => (this.publishingBlockedBy = reason));
    model.on('unblocked', () => (this.publishingBlockedBy = null));
    const channel = await model.createConfirmChannel();
    channel.on('error', (error: Error) => this.logger.warn({ err: error.message }, 'rpc client channel error'));
    channel.on('return', (message: Message) => this.onReturn(message));
    channel.on('close', () => {
      if (this.channel !== channel) return;
      this.channel = null;
      this.failAll(new RpcUnavailableError('broker channel closed'));
      // The connection may still be up; closing it lets recovery build a fresh channel.
      if (!this.closed) model.close().catch(() => undefined);
    });
    // Direct reply-to requires consuming, with no-ack, before publishing on the same channel.
    await channel.consume(DIRECT_REPLY_QUEUE, (message) => this.onReply(message), { noAck: true });
    this.writes = new WriteGate(channel);
    this.channel = channel;
  }

  private onConnectionLost(error: Error): void {
    this.channel = null;
    this.publishingBlockedBy = null;
    this.failAll(new RpcUnavailableError('lost the broker connection', { cause: error }));
  }

  private failAll(error: RpcUnavailableError): void {
    for (const correlationId of [...this.pending.keys()]) this.settle(correlationId, 'unavailable', error);
  }
}

/** The `route` label of calls refused before they named a route: refused on arrival. */
const ANY_ROUTE = '*';

interface OutgoingMessage {
  route: string;
  correlationId: string;
  body: Buffer;
  headers: Record<string, unknown>;
  /** Epoch ms after which nobody waits for the reply. */
  deadline: number;
}

function earliest(first: number | undefined, second: number | undefined): number | undefined {
  if (first === undefined) return second;
  return second === undefined || first <= second ? first : second;
}
