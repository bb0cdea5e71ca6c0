import { randomBytes } from 'node:crypto';
import { api, uniqueEmail } from './http';
import { waitForTrace, type Span } from './jaeger-query';

/** The hops one POST /v1/orders makes: gateway → orders (RPC) → users (RPC), each a client and a server span. */
const hops: [service: string, name: string, kind: string][] = [
  ['gateway', 'orders.create', 'client'],
  ['orders', 'orders.create', 'server'],
  ['orders', 'users.get', 'client'],
  ['users', 'users.get', 'server'],
];

/**
 * Creates a user, then an order under a traceparent of our own, through the gateway at `gatewayUrl`; waits until
 * the Jaeger at `jaegerUrl` holds that trace with the gateway's server span and every hop. A deployed suite's
 * test of its tracing (the compose stack, the cluster).
 */
export async function traceOneOrder(
  gatewayUrl: string,
  jaegerUrl: string,
  timeoutMs: number,
): Promise<{ traceId: string; spans: Span[]; services: string[] }> {
  const user = await api(gatewayUrl, 'POST', '/v1/users', { body: { name: 'Traced', email: uniqueEmail('trace') } });
  expect(user.status).toBe(201);
  const traceId = randomBytes(16).toString('hex');
  const created = await api(gatewayUrl, 'POST', '/v1/orders', {
    body: { userId: user.body.id, currency: 'EUR', items: [{ sku: 'BOOK-1', quantity: 1, unitPriceCents: 990 }] },
    headers: { traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` },
  });
  expect(created.status).toBe(201);
  const { spans } = await waitForTrace(
    jaegerUrl,
    traceId,
    (all) =>
      all.some((span) => span.service === 'gateway' && span.kind === 'server') &&
      hops.every(([service, name, kind]) =>
        all.some((span) => span.service === service && span.name === name && span.kind === kind),
      ),
    timeoutMs,
  );
  return { traceId, spans, services: [...new Set(spans.map((span) => span.service))] };
}
