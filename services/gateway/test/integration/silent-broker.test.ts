import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { SilentBrokerProxy } from '../../../../packages/rpc/test/silent-broker';
import {
  AMQP_URL,
  eventually,
  FakeBackend,
  newUserBody,
  startGateway,
  routes,
  uniqueQueuePrefix,
  type TestGateway,
} from './harness';

/**
 * The gateway in front of a broker that stops answering without closing its socket (a paused or wedged node; here
 * a proxy that falls silent). The request's deadline, taken when the gateway accepts it, bounds everything it
 * waits on: every API request is answered within RPC_TIMEOUT_MS plus SLACK_MS (a busy shared machine), with a
 * 504 once its call was sent, or a 503 when the deadline passed before it could be (a route whose availability
 * was never known waits for its probe only until then). /readyz answers in bounded time and turns red.
 */

jest.setTimeout(60_000);

const RPC_TIMEOUT_MS = 800;
const SLACK_MS = 400;

describe('when the broker stops answering the gateway', () => {
  let backend: FakeBackend;
  let proxy: SilentBrokerProxy;
  let gateway: TestGateway;
  const http = () => request(gateway.app);

  beforeAll(async () => {
    const queuePrefix = uniqueQueuePrefix();
    backend = new FakeBackend(queuePrefix);
    await backend.start();
    proxy = await SilentBrokerProxy.start(AMQP_URL);
    gateway = await startGateway({
      queuePrefix,
      config: { rpcTimeoutMs: RPC_TIMEOUT_MS },
      readinessCacheMs: 100,
      // A long heartbeat: the whole test runs while the gateway still believes its connection is up.
      rpc: { url: proxy.url, heartbeatSeconds: 60 },
    });
  });
  afterAll(async () => {
    proxy?.restore();
    await gateway?.close();
    await proxy?.close();
    await backend?.stop();
    await backend?.deleteQueues();
  });

  async function timedRequest(send: () => request.Test): Promise<{ ms: number; status: number; type: string }> {
    const startedAt = performance.now();
    const response = await send();
    return { ms: performance.now() - startedAt, status: response.status, type: String(response.type) };
  }

  it('answers every request by its deadline, 504 once sent and 503 when never sent, and recovers after', async () => {
    // users.create and users.get have been called, so their consumer counts are known.
    const user = (await http().post('/v1/users').send(newUserBody()).expect(201)).body as { id: string };
    await http().get(`/v1/users/${randomUUID()}`).expect(404);
    proxy.silence();

    const sent = await Promise.all([
      ...Array.from({ length: 8 }, (_, index) =>
        timedRequest(() =>
          http().post('/v1/users').set('Idempotency-Key', `silent-${randomUUID()}-${index}`).send(newUserBody()),
        ),
      ),
      ...Array.from({ length: 8 }, () => timedRequest(() => http().get(`/v1/users/${randomUUID()}`))),
    ]);
    for (const result of sent) {
      expect(result).toMatchObject({ status: 504, type: 'application/problem+json' });
      expect(result.ms).toBeLessThan(RPC_TIMEOUT_MS + SLACK_MS);
    }

    // orders.get was never called: its consumer count is unknown and its probe cannot answer. The request waits
    // for the probe until its deadline, then is refused without being sent.
    const neverSent = await timedRequest(() => http().get(`/v1/orders/${randomUUID()}`));
    expect(neverSent).toMatchObject({ status: 503, type: 'application/problem+json' });
    expect(neverSent.ms).toBeLessThan(RPC_TIMEOUT_MS + SLACK_MS);
    expect(backend.callsTo(routes.ordersGet)).toEqual([]);

    // Readiness asks the broker too, and never waits on it past its own bound; it turns red.
    await eventually(async () => {
      const readiness = await timedRequest(() => http().get('/readyz'));
      expect(readiness.ms).toBeLessThan(2000 + SLACK_MS);
      return readiness.status === 503;
    }, 10_000);

    proxy.restore();
    await eventually(async () => (await http().get('/readyz')).status === 200, 10_000);
    await http()
      .get(`/v1/users/${user.id}`)
      .expect(200)
      .expect((response) => expect(response.body).toMatchObject({ id: user.id }));
  });
});
