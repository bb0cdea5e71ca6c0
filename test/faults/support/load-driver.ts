import { randomBytes } from 'node:crypto';

/**
 * A client that keeps writing while a fault test breaks things: a steady stream of POST /v1/users, POST /v1/orders
 * (orders for users it created), PATCH /v1/users/:id (renames of those users) and POST /v1/orders/:id/cancel (each of
 * its orders at most once), each with a unique Idempotency-Key, retried with the SAME key and
 * body on 503, 504, 409-in-flight, a connection error or a client timeout, with capped exponential backoff and
 * jitter, up to a bound in attempts and time. It records every attempt, stops issuing requests by itself after
 * `maxDurationMs` (or at `stop()`), and `stop()` resolves once every request has a final outcome.
 */

export type Outcome = number | 'connection_error' | 'timeout';

export interface Attempt {
  outcome: Outcome;
  /** Latency of this attempt (to the response, the error or the client timeout). */
  ms: number;
  /** When it started, ms since the driver started. */
  at: number;
  /** When it started, epoch ms (to compare with the database's timestamps). */
  epochMs: number;
  gateway: string;
  /** For a connection error: its code (ECONNREFUSED, UND_ERR_SOCKET, ...). */
  error?: string;
}

export type RequestKind = 'user' | 'order' | 'patch' | 'cancel';

/** The status that ends a request of each kind successfully: 201 for a create, 200 for a change. */
export const SUCCESS_STATUS: Record<RequestKind, 200 | 201> = { user: 201, order: 201, patch: 200, cancel: 200 };

/** Whether an attempt was answered with a success status (the driver sends each kind to its own route). */
export function succeeded(attempt: Attempt): boolean {
  return attempt.outcome === 200 || attempt.outcome === 201;
}

export interface RequestRecord {
  key: string;
  kind: RequestKind;
  method: 'POST' | 'PATCH';
  path: string;
  /**
   * A create: what identifies the row it creates (the user's email, or the order's single item's SKU). A change:
   * the id of the user or order it changes.
   */
  naturalKey: string;
  body: unknown;
  attempts: Attempt[];
  /** The last attempt's outcome, once the request is over. */
  final: Outcome | 'pending';
  /** The id in the success body. */
  entityId?: string;
  /** From the first attempt's start to the final outcome. */
  totalMs: number;
}

export interface LoadDriverOptions {
  gateways: string[];
  /** New requests per second (users and orders together). */
  ratePerSecond?: number;
  /** Share of new requests that are orders, once some users exist. */
  orderShare?: number;
  /** Shares of new requests that rename a user, and that cancel an order, once there are some. */
  patchShare?: number;
  cancelShare?: number;
  /** Hard stop for issuing new requests. */
  maxDurationMs: number;
  maxAttempts?: number;
  /** No new attempt of a request starts later than this after its first one. */
  retryBudgetMs?: number;
  /** A client-side limit per attempt: longer than the gateway's RPC deadline, so a hang shows as `timeout`. */
  attemptTimeoutMs?: number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
}

const RETRIABLE_STATUSES = new Set([503, 504]);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class LoadDriver {
  /** Prefix of every key, email and SKU of this run: the database audit selects the run's rows by it. */
  readonly runId = `f${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  readonly records: RequestRecord[] = [];
  private gateways: string[];
  private nextGateway = 0;
  private readonly createdUsers: string[] = [];
  /** Orders created and not yet chosen for a cancel: each is cancelled at most once. */
  private readonly uncancelledOrders: string[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private readonly startedAt = performance.now();
  private ticker: NodeJS.Timeout | undefined;
  private deadline: NodeJS.Timeout | undefined;
  private sequence = 0;
  private stopped = false;
  private readonly options: Required<Omit<LoadDriverOptions, 'gateways'>>;

  constructor(options: LoadDriverOptions) {
    this.gateways = [...options.gateways];
    this.options = {
      ratePerSecond: 40,
      orderShare: 0.4,
      patchShare: 0.15,
      cancelShare: 0.1,
      // The bound is retryBudgetMs; this only stops a runaway (30 was reached inside the budget on a loaded machine).
      maxAttempts: 60,
      retryBudgetMs: 45_000,
      attemptTimeoutMs: 10_000,
      initialBackoffMs: 100,
      maxBackoffMs: 1000,
      ...options,
    };
  }

  /** Milliseconds since the driver was created. */
  now(): number {
    return performance.now() - this.startedAt;
  }

  /** The gateways requests go to, round-robin (a rolling update adds one and later removes another). */
  setGateways(urls: string[]): void {
    if (urls.length === 0) throw new Error('at least one gateway');
    this.gateways = [...urls];
  }

  start(): this {
    const interval = 1000 / this.options.ratePerSecond;
    this.ticker = setInterval(() => this.issue(), interval);
    this.deadline = setTimeout(() => this.halt(), this.options.maxDurationMs);
    return this;
  }

  /** Stops issuing new requests and resolves once every request issued has its final outcome. */
  async stop(): Promise<RequestRecord[]> {
    this.halt();
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
    return this.records;
  }

  private halt(): void {
    this.stopped = true;
    clearInterval(this.ticker);
    clearTimeout(this.deadline);
  }

  private issue(): void {
    if (this.stopped) return;
    const record = this.nextRecord(this.sequence++);
    this.records.push(record);
    const done = this.send(record).finally(() => this.inFlight.delete(done));
    this.inFlight.add(done);
  }

  private nextRecord(n: number): RequestRecord {
    const { orderShare, patchShare, cancelShare } = this.options;
    const draw = Math.random();
    const anyUser = () => this.createdUsers[Math.floor(Math.random() * this.createdUsers.length)]!;
    const base = { attempts: [], final: 'pending' as const, totalMs: 0 };
    if (draw < patchShare && this.createdUsers.length > 0) {
      const key = `${this.runId}-p-${n}`;
      const userId = anyUser();
      const path = `/v1/users/${userId}`;
      return { ...base, key, kind: 'patch', method: 'PATCH', path, naturalKey: userId, body: { name: `Patched ${n}` } };
    }
    if (draw < patchShare + cancelShare && this.uncancelledOrders.length > 0) {
      const key = `${this.runId}-c-${n}`;
      const orderId = this.uncancelledOrders.splice(Math.floor(Math.random() * this.uncancelledOrders.length), 1)[0]!;
      const path = `/v1/orders/${orderId}/cancel`;
      return { ...base, key, kind: 'cancel', method: 'POST', path, naturalKey: orderId, body: undefined };
    }
    if (draw < patchShare + cancelShare + orderShare && this.createdUsers.length > 0) {
      const key = `${this.runId}-o-${n}`;
      const body = {
        userId: anyUser(),
        currency: 'EUR',
        // The SKU is the key: the audit finds each request's order rows by it.
        items: [{ sku: key, quantity: 1 + (n % 3), unitPriceCents: 250 }],
      };
      return { ...base, key, kind: 'order', method: 'POST', path: '/v1/orders', naturalKey: key, body };
    }
    const key = `${this.runId}-u-${n}`;
    const email = `${key}@faults.example`;
    const body = { name: `Fault ${n}`, email };
    return { ...base, key, kind: 'user', method: 'POST', path: '/v1/users', naturalKey: email, body };
  }

  private async send(record: RequestRecord): Promise<void> {
    const body = record.body === undefined ? undefined : JSON.stringify(record.body);
    const success = SUCCESS_STATUS[record.kind];
    const firstAt = this.now();
    for (let attemptNumber = 1; ; attemptNumber++) {
      const gateway = this.gateways[this.nextGateway++ % this.gateways.length]!;
      const at = this.now();
      const attempt: Attempt = { outcome: 'timeout', ms: 0, at, epochMs: Date.now(), gateway };
      let retriable: boolean;
      try {
        const response = await fetch(`${gateway}${record.path}`, {
          method: record.method,
          headers: {
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
            'idempotency-key': record.key,
          },
          body,
          signal: AbortSignal.timeout(this.options.attemptTimeoutMs),
        });
        const text = await response.text();
        attempt.outcome = response.status;
        if (response.status === success) record.entityId = (JSON.parse(text) as { id: string }).id;
        // 409 is retried only when it says the same key is still in flight (a duplicate email, or "already
        // cancelled" for a retried cancel, would be a bug).
        retriable =
          RETRIABLE_STATUSES.has(response.status) || (response.status === 409 && /in.flight|in progress/i.test(text));
      } catch (error) {
        const name = (error as Error).name;
        if (name === 'TimeoutError' || name === 'AbortError') {
          attempt.outcome = 'timeout';
        } else {
          attempt.outcome = 'connection_error';
          const cause = (error as { cause?: { code?: string; message?: string } }).cause;
          attempt.error = cause?.code ?? cause?.message ?? (error as Error).message;
        }
        retriable = true;
      }
      attempt.ms = this.now() - at;
      record.attempts.push(attempt);
      record.final = attempt.outcome;
      record.totalMs = this.now() - firstAt;
      if (attempt.outcome === success) {
        if (record.kind === 'user' && record.entityId) this.createdUsers.push(record.entityId);
        if (record.kind === 'order' && record.entityId) this.uncancelledOrders.push(record.entityId);
        return;
      }
      if (!retriable || attemptNumber >= this.options.maxAttempts) return;
      const backoff = Math.min(this.options.maxBackoffMs, this.options.initialBackoffMs * 2 ** (attemptNumber - 1));
      const delay = backoff / 2 + Math.random() * (backoff / 2);
      if (this.now() - firstAt + delay > this.options.retryBudgetMs) return;
      await sleep(delay);
    }
  }
}

// ---------------------------------------------------------------- figures

export interface LoadSummary {
  requests: number;
  /** Requests that ended with their success status (201 for a create, 200 for a PATCH or cancel). */
  succeeded: number;
  /** Of those, PATCHes and cancels. */
  changes: number;
  /** Requests whose final outcome is not their success status. */
  failed: number;
  attempts: number;
  /** Requests that needed more than one attempt. */
  retried: number;
  status503: number;
  status504: number;
  status409: number;
  connectionErrors: number;
  timeouts: number;
  /** Attempts with any other outcome than success, 503, 504, 409, a connection error or a timeout (e.g. 500). */
  otherStatuses: number;
  /** Over all attempts. */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** The slowest 503/504 answer: how long a caller waited to hear "not now". */
  maxFailureMs: number;
  /** The longest a request took from its first attempt to its final outcome, retries included. */
  maxTotalMs: number;
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

export function summarize(records: RequestRecord[]): LoadSummary {
  const attempts = records.flatMap((record) => record.attempts);
  const ended = (record: RequestRecord) => record.final === SUCCESS_STATUS[record.kind];
  const unexpected = records.flatMap((record) =>
    record.attempts.filter(
      (attempt) =>
        typeof attempt.outcome === 'number' && ![SUCCESS_STATUS[record.kind], 503, 504, 409].includes(attempt.outcome),
    ),
  );
  const latencies = attempts.map((attempt) => attempt.ms).sort((a, b) => a - b);
  const count = (predicate: (attempt: Attempt) => boolean) => attempts.filter(predicate).length;
  const failures = attempts.filter((attempt) => attempt.outcome === 503 || attempt.outcome === 504);
  return {
    requests: records.length,
    succeeded: records.filter(ended).length,
    changes: records.filter((record) => ended(record) && (record.kind === 'patch' || record.kind === 'cancel')).length,
    failed: records.filter((record) => !ended(record)).length,
    attempts: attempts.length,
    retried: records.filter((record) => record.attempts.length > 1).length,
    status503: count((attempt) => attempt.outcome === 503),
    status504: count((attempt) => attempt.outcome === 504),
    status409: count((attempt) => attempt.outcome === 409),
    connectionErrors: count((attempt) => attempt.outcome === 'connection_error'),
    timeouts: count((attempt) => attempt.outcome === 'timeout'),
    otherStatuses: unexpected.length,
    p50Ms: Math.round(quantile(latencies, 0.5)),
    p99Ms: Math.round(quantile(latencies, 0.99)),
    maxMs: Math.round(latencies.at(-1) ?? 0),
    maxFailureMs: Math.round(Math.max(0, ...failures.map((attempt) => attempt.ms))),
    maxTotalMs: Math.round(Math.max(0, ...records.map((record) => record.totalMs))),
  };
}
