/**
 * Warren's HTTP contract in a few lines, for the unit tests of the flows and the k6 entry: users (Idempotency-Key
 * replays, a read cache that misses then hits), orders (server-computed totals, listing, cancelling). Pure logic,
 * no network: `answer(request)` is the whole server. `refuseAll` turns it into a suite shedding every request.
 */
import type { LoadRequest, LoadResponse } from '../lib/http-types.ts';

const problem = (status: number, title: string, extra: Record<string, string> = {}): LoadResponse => ({
  status,
  headers: { 'content-type': 'application/problem+json', ...extra },
  body: JSON.stringify({ type: `urn:warren:problem:${status}`, title, status }),
});

const ok = (status: number, body: unknown, extra: Record<string, string> = {}): LoadResponse => ({
  status,
  headers: { 'content-type': 'application/json; charset=utf-8', ...extra },
  body: JSON.stringify(body),
});

export class FakeWarren {
  refuseAll = false;
  readonly requests: LoadRequest[] = [];
  private sequence = 0;
  private readonly users = new Map<string, Record<string, unknown>>();
  private readonly cached = new Set<string>();
  private readonly orders = new Map<string, Record<string, unknown>>();
  private readonly replays = new Map<string, LoadResponse>();

  answer(request: LoadRequest): LoadResponse {
    this.requests.push(request);
    if (this.refuseAll) return problem(503, 'Service Unavailable', { 'retry-after': '1' });
    const key = request.headers['idempotency-key'];
    const replayed = key === undefined ? undefined : this.replays.get(key);
    if (replayed) return { ...replayed, headers: { ...replayed.headers, 'idempotent-replayed': 'true' } };
    const response = this.route(request);
    if (key !== undefined && response.status < 300) this.replays.set(key, response);
    return response;
  }

  private id(): string {
    return `00000000-0000-7000-8000-${String(++this.sequence).padStart(12, '0')}`;
  }

  private route(request: LoadRequest): LoadResponse {
    const { method, path } = request;
    const body = request.body === undefined ? {} : (JSON.parse(request.body) as Record<string, unknown>);
    let match: RegExpExecArray | null;
    if (method === 'POST' && path === '/v1/users') {
      const user = { id: this.id(), ...body };
      this.users.set(user.id, user);
      return ok(201, user);
    }
    if (method === 'GET' && (match = /^\/v1\/users\/([^/?]+)$/.exec(path))) {
      const user = this.users.get(match[1]!);
      if (!user) return problem(404, 'Not Found');
      const hit = this.cached.has(match[1]!);
      this.cached.add(match[1]!);
      return ok(200, user, { 'x-cache': hit ? 'hit' : 'miss' });
    }
    if (method === 'POST' && path === '/v1/orders') {
      const items = body.items as { quantity: number; unitPriceCents: number }[];
      const totalCents = items.reduce((sum, item) => sum + item.quantity * item.unitPriceCents, 0);
      const order = { id: this.id(), ...body, totalCents, status: 'confirmed' };
      this.orders.set(order.id, order);
      return ok(201, order);
    }
    if (method === 'GET' && (match = /^\/v1\/users\/([^/]+)\/orders/.exec(path))) {
      const items = [...this.orders.values()].filter((order) => order.userId === match![1]).reverse();
      return ok(200, { items, nextCursor: null });
    }
    if (method === 'POST' && (match = /^\/v1\/orders\/([^/]+)\/cancel$/.exec(path))) {
      const order = this.orders.get(match[1]!);
      if (!order) return problem(404, 'Not Found');
      order.status = 'cancelled';
      return ok(200, order);
    }
    return problem(404, 'Not Found');
  }
}
