/**
 * How each response is judged. A refusal with Retry-After (503 from load shedding, 429 from the rate limit) is an
 * expected answer to overload, counted apart, never a failed check; any other unexpected status is one, and every
 * error must be application/problem+json. Bodies are checked only on success.
 */
import type { LoadResponse, RouteName } from './http-types.ts';
import { ORDER_TOTAL_CENTS } from './requests.ts';

export type Checks = Record<string, boolean>;

export function isRefusal(response: LoadResponse): boolean {
  return (response.status === 503 || response.status === 429) && response.headers['retry-after'] !== undefined;
}

/** A server error that is not a refusal: what must not happen, however hard the suite is pushed. */
export function isServerError(response: LoadResponse): boolean {
  return response.status >= 500 && !isRefusal(response);
}

export function parseJson(response: LoadResponse): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(response.body);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The checks every response gets: the expected status (or a refusal), and problem+json on errors. */
function answered(name: RouteName, expected: number, response: LoadResponse): Checks {
  return {
    [`${name}: status ${expected} or a refusal with Retry-After`]: response.status === expected || isRefusal(response),
    [`${name}: errors are application/problem+json`]:
      response.status < 400 || (response.headers['content-type'] ?? '').startsWith('application/problem+json'),
  };
}

/** Body checks, only when the status is the expected one (a refusal has no body to check). */
function withBody(
  name: RouteName,
  expected: number,
  response: LoadResponse,
  body: (json: Record<string, unknown>) => Checks,
): Checks {
  if (response.status !== expected) return answered(name, expected, response);
  const json = parseJson(response);
  return { ...answered(name, expected, response), ...(json ? body(json) : { [`${name}: a JSON object`]: false }) };
}

export function userCreated(response: LoadResponse): Checks {
  return withBody('POST /v1/users', 201, response, (user) => ({
    'POST /v1/users: a user with an id and the email sent':
      typeof user.id === 'string' && UUID.test(user.id) && typeof user.email === 'string',
  }));
}

export function userReplayed(first: LoadResponse, response: LoadResponse): Checks {
  return withBody('POST /v1/users (replay)', 201, response, () => ({
    'POST /v1/users (replay): Idempotent-Replayed: true': response.headers['idempotent-replayed'] === 'true',
    'POST /v1/users (replay): the first response': response.body === first.body,
  }));
}

export function userRead(id: string, expected: 'miss' | 'hit', response: LoadResponse): Checks {
  const name: RouteName = expected === 'miss' ? 'GET /v1/users/:id (miss)' : 'GET /v1/users/:id (hit)';
  return withBody(name, 200, response, (user) => ({
    [`${name}: the user asked for`]: user.id === id,
    [`${name}: X-Cache: ${expected}`]: response.headers['x-cache'] === expected,
  }));
}

export function orderCreated(userId: string, response: LoadResponse): Checks {
  return withBody('POST /v1/orders', 201, response, (order) => ({
    'POST /v1/orders: confirmed for the user, total computed by the server':
      order.userId === userId && order.status === 'confirmed' && order.totalCents === ORDER_TOTAL_CENTS,
  }));
}

export function ordersListed(orderId: string, response: LoadResponse): Checks {
  return withBody('GET /v1/users/:id/orders', 200, response, (page) => ({
    'GET /v1/users/:id/orders: a page holding the new order':
      Array.isArray(page.items) && page.items.some((item) => (item as { id?: unknown }).id === orderId),
  }));
}

export function orderCancelled(orderId: string, response: LoadResponse): Checks {
  return withBody('POST /v1/orders/:id/cancel', 200, response, (order) => ({
    'POST /v1/orders/:id/cancel: the order, cancelled': order.id === orderId && order.status === 'cancelled',
  }));
}
