/**
 * The requests the load tests send, built from plain values: the same bytes whichever engine sends them. Emails
 * and Idempotency-Keys carry `unique`, a token the engine makes unique per run, virtual user and iteration, so
 * writes never collide across runs and the rows of a run can be found again (`@loadtest.warren.invalid`).
 */
import type { LoadRequest } from './http-types.ts';

export const EMAIL_DOMAIN = 'loadtest.warren.invalid';

const json = { 'content-type': 'application/json', accept: 'application/json' };

export function createUser(unique: string): LoadRequest {
  return {
    method: 'POST',
    path: '/v1/users',
    headers: { ...json, 'idempotency-key': `user-${unique}` },
    body: JSON.stringify({ name: 'Load Test', email: `user.${unique}@${EMAIL_DOMAIN}` }),
    tags: { name: 'POST /v1/users' },
  };
}

/** The same request again, key and body: the gateway must replay the first response. */
export function replay(request: LoadRequest): LoadRequest {
  return { ...request, tags: { name: 'POST /v1/users (replay)' } };
}

export function getUser(id: string, expected: 'miss' | 'hit'): LoadRequest {
  return {
    method: 'GET',
    path: `/v1/users/${id}`,
    headers: { accept: 'application/json' },
    tags: { name: expected === 'miss' ? 'GET /v1/users/:id (miss)' : 'GET /v1/users/:id (hit)' },
  };
}

export function createOrder(userId: string, unique: string): LoadRequest {
  return {
    method: 'POST',
    path: '/v1/orders',
    headers: { ...json, 'idempotency-key': `order-${unique}` },
    body: JSON.stringify({
      userId,
      currency: 'EUR',
      items: [
        { sku: 'BOOK-1', quantity: 2, unitPriceCents: 1250 },
        { sku: 'PEN-7', quantity: 1, unitPriceCents: 199 },
      ],
    }),
    tags: { name: 'POST /v1/orders' },
  };
}

/** The total the orders service must compute for createOrder's items. */
export const ORDER_TOTAL_CENTS = 2 * 1250 + 199;

export function listOrders(userId: string): LoadRequest {
  return {
    method: 'GET',
    path: `/v1/users/${userId}/orders?limit=10`,
    headers: { accept: 'application/json' },
    tags: { name: 'GET /v1/users/:id/orders' },
  };
}

export function cancelOrder(orderId: string, unique: string): LoadRequest {
  return {
    method: 'POST',
    path: `/v1/orders/${orderId}/cancel`,
    headers: { accept: 'application/json', 'idempotency-key': `cancel-${unique}` },
    tags: { name: 'POST /v1/orders/:id/cancel' },
  };
}

/** The request with `Authorization: Bearer <token>` when there is a token (LoadSettings.token), else as it is. */
export function withBearerToken(request: LoadRequest, token: string | undefined): LoadRequest {
  if (token === undefined) return request;
  return { ...request, headers: { ...request.headers, authorization: `Bearer ${token}` } };
}
