/**
 * The requests both implementations answer: POST /v1/users with a new user,
 * GET /v1/users/:id of one that exists, POST /v1/orders with new items for a
 * user that exists. Request bytes are built here, and every response is
 * checked, so a wrong answer never counts as a request served.
 */
import type { Implementation } from '../core/schedule';
import type { HttpResponse } from './http-client';

/** `order` places an order for a seeded user; `mix` alternates creates and reads of users created earlier. */
export type Operation = 'create' | 'get' | 'order' | 'mix';
/** What a response was: served, refused by load shedding (503 with Retry-After), or anything else. */
export type Outcome = 'ok' | 'shed' | 'error';

/** Domain of every e-mail the benchmark creates; each run adds its own id before it, so its rows can be deleted. */
export const EMAIL_DOMAIN = 'bench.warren.invalid';
const USER_NAME = 'Bench User';
const ORDER_CURRENCY = 'EUR';

/** The SQL LIKE pattern of every e-mail a run created (seeded or through either implementation). */
export function runEmailPattern(runId: string): string {
  return `%.${runId}@${EMAIL_DOMAIN}`;
}

export function benchEmail(prefix: string, index: number, runId: string): string {
  return `${prefix}${index}.${runId}@${EMAIL_DOMAIN}`;
}

/**
 * Ids of users to read. The gateway caches reads, and a cached read never
 * reaches the worker, so every id is read at most once through the gateway:
 * each read is a cache miss that goes the whole way. The floor has no cache
 * and may read an id again.
 */
export class UserIds {
  private readonly ids: string[] = [];
  private readonly cursors: Record<Implementation, number> = { floor: 0, warren: 0 };

  add(id: string): void {
    this.ids.push(id);
  }

  get size(): number {
    return this.ids.length;
  }

  /** Ids not yet read through `implementation`. */
  unread(implementation: Implementation): number {
    return this.ids.length - this.cursors[implementation];
  }

  /** The next id for `implementation` to read, or undefined when the gateway has read them all. */
  next(implementation: Implementation): string | undefined {
    if (this.ids.length === 0) return undefined;
    const cursor = this.cursors[implementation];
    if (cursor >= this.ids.length && implementation === 'warren') return undefined;
    this.cursors[implementation] = cursor + 1;
    return this.ids[cursor % this.ids.length];
  }
}

export interface PreparedRequest {
  kind: 'create' | 'get' | 'order';
  bytes: Buffer;
  /** For an order: the user it is placed for, which the reply must name. */
  userId?: string;
}

export interface CheckedResponse {
  outcome: Outcome;
  /** What was wrong, for an error. */
  problem?: string;
}

const ID_IN_BODY = /"id":"([0-9a-f-]{36})"/;

/** Builds the requests of one run against one server, and checks their responses. */
export class Workload {
  private created = 0;
  private ordered = 0;
  private mixTurn = 0;

  /**
   * `orderUsers`: the users orders are placed for, in turn (the seeded ones: they exist, and the run's clean-up
   * deletes every order of theirs).
   */
  constructor(
    readonly implementation: Implementation,
    private readonly host: string,
    private readonly port: number,
    private readonly runId: string,
    private readonly ids: UserIds,
    private readonly orderUsers: readonly string[],
  ) {}

  /** The next request of `operation`; a read when there is no user left to read is an Error. */
  next(operation: Operation): PreparedRequest | Error {
    if (operation === 'create') return this.create();
    if (operation === 'get') return this.get() ?? new Error('no user left to read: seed more (--seed-users)');
    if (operation === 'order') {
      return this.order() ?? new Error('no user to place orders for: seed some (--seed-users)');
    }
    // Mix: every other request reads a user created earlier, when there is one unread.
    if (this.mixTurn++ % 2 === 0) return this.create();
    return this.get() ?? this.create();
  }

  check(request: PreparedRequest, response: HttpResponse): CheckedResponse {
    const expected = request.kind === 'get' ? 200 : 201;
    if (response.status === expected) {
      if (request.kind === 'order') {
        const text = response.body.toString('latin1');
        if (!ID_IN_BODY.test(text.slice(0, 120)))
          return { outcome: 'error', problem: `${expected} without an order id` };
        if (!text.includes(`"userId":"${request.userId}"`)) {
          return { outcome: 'error', problem: `${expected} with an order for another user` };
        }
      } else if (request.kind === 'create') {
        const id = ID_IN_BODY.exec(response.body.toString('latin1', 0, 120))?.[1];
        if (!id) return { outcome: 'error', problem: `${expected} without a user id` };
        this.ids.add(id);
      } else if (this.implementation === 'warren' && response.headers.get('x-cache') !== 'miss') {
        // A cache hit would skip RPC, the worker and the database: not the path being measured.
        return { outcome: 'error', problem: `read with X-Cache ${response.headers.get('x-cache')}, not miss` };
      }
      return { outcome: 'ok' };
    }
    if (response.status === 503 && response.headers.has('retry-after')) return { outcome: 'shed' };
    return {
      outcome: 'error',
      problem: `${response.status} ${response.body.toString('utf8', 0, Math.min(response.body.length, 200))}`,
    };
  }

  private create(): PreparedRequest {
    const email = benchEmail(this.implementation === 'floor' ? 'f' : 'w', this.created++, this.runId);
    const body = JSON.stringify({ name: USER_NAME, email });
    const head =
      `POST /v1/users HTTP/1.1\r\nHost: ${this.host}:${this.port}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
    return { kind: 'create', bytes: Buffer.from(head + body) };
  }

  /** An order of new items (a SKU never used before, one common line) for the next user in turn. */
  private order(): PreparedRequest | undefined {
    if (this.orderUsers.length === 0) return undefined;
    const index = this.ordered++;
    const userId = this.orderUsers[index % this.orderUsers.length]!;
    const items = [
      {
        sku: `bench-${this.implementation}-${index}.${this.runId}`,
        quantity: 1 + (index % 3),
        unitPriceCents: 199 + (index % 1000),
      },
      { sku: 'bench-common', quantity: 1, unitPriceCents: 50 },
    ];
    const body = JSON.stringify({ userId, items, currency: ORDER_CURRENCY });
    const head =
      `POST /v1/orders HTTP/1.1\r\nHost: ${this.host}:${this.port}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
    return { kind: 'order', bytes: Buffer.from(head + body), userId };
  }

  private get(): PreparedRequest | undefined {
    const id = this.ids.next(this.implementation);
    if (id === undefined) return undefined;
    return {
      kind: 'get',
      bytes: Buffer.from(`GET /v1/users/${id} HTTP/1.1\r\nHost: ${this.host}:${this.port}\r\n\r\n`),
    };
  }
}
