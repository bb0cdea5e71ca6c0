import { PROMETHEUS_JOBS, startPrometheus, type RunningPrometheus } from '@warren/launcher';
import { api, uniqueEmail } from './support/http';
import { freePort } from './support/network';
import { dashboardExpressions, loadDashboards, loadRules, ruleExpressions } from './support/observability';
import { startRunningSuite } from './support/running-suite';
import { PrivateVhost } from './support/vhost';

jest.setTimeout(120_000);

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

describe('a real Prometheus scraping the running suite and RabbitMQ', () => {
  let running: Awaited<ReturnType<typeof startRunningSuite>>;
  let prometheus: RunningPrometheus;
  // A virtual host of its own: no other worker on the shared broker takes this suite's requests (and its counts).
  const vhost = new PrivateVhost();

  /** An instant query through Prometheus's HTTP API; a query Prometheus refuses fails the test. */
  async function query(expr: string): Promise<Sample[]> {
    const response = await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(expr)}`, {
      signal: AbortSignal.timeout(5000),
    });
    const body = (await response.json()) as { status: string; error?: string; data: { result: Sample[] } };
    if (body.status !== 'success') throw new Error(`${expr}: ${body.error}`);
    return body.data.result;
  }

  /** Polls a query until `accept` holds for its result (scrapes and rule evaluations happen every second). */
  async function eventually(expr: string, accept: (samples: Sample[]) => boolean, timeoutMs = 20_000) {
    const deadline = Date.now() + timeoutMs;
    let last: Sample[] = [];
    while (Date.now() < deadline) {
      last = await query(expr);
      if (accept(last)) return last;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    throw new Error(`${expr} never matched; last result: ${JSON.stringify(last)}`);
  }

  const value = (samples: Sample[], labels: Record<string, string> = {}) =>
    Number(
      samples.find((sample) => Object.entries(labels).every(([key, v]) => sample.metric[key] === v))?.value[1] ?? NaN,
    );

  beforeAll(async () => {
    await vhost.create();
    running = await startRunningSuite({ AMQP_URL: vhost.amqpUrl });
    prometheus = await startPrometheus({
      port: await freePort(),
      scrapeIntervalSeconds: 1,
      targets: {
        gateway: Number(new URL(running.suite.opsUrl('gateway')).port),
        users: Number(new URL(running.suite.opsUrl('users')).port),
        orders: Number(new URL(running.suite.opsUrl('orders')).port),
        rabbitmq: 15692,
      },
    });
  });
  afterAll(async () => {
    await prometheus?.stop();
    await running?.stop();
    await vhost.delete();
  });

  it('scrapes every Warren job: up == 1 for the gateway, both workers and RabbitMQ', async () => {
    const up = await eventually('up', (samples) => samples.length === 4 && samples.every((s) => s.value[1] === '1'));
    expect(up.map((sample) => sample.metric.job).sort()).toEqual(Object.values(PROMETHEUS_JOBS).sort());
  });

  it('records API traffic by route template, RPC handling per worker and route, and RabbitMQ per queue', async () => {
    const user = await api(running.baseUrl, 'POST', '/v1/users', { body: { name: 'Prom', email: uniqueEmail() } });
    expect(user.status).toBe(201);
    expect((await api(running.baseUrl, 'GET', `/v1/users/${user.body.id}`)).status).toBe(200);
    expect((await api(running.baseUrl, 'GET', '/v1/users/01900000-0000-7000-8000-000000000000')).status).toBe(404);
    const order = await api(running.baseUrl, 'POST', '/v1/orders', {
      body: { userId: user.body.id, currency: 'EUR', items: [{ sku: 'P-1', quantity: 2, unitPriceCents: 250 }] },
    });
    expect(order.status).toBe(201);

    // Gateway: the route label is the template, never the raw URL with an id in it.
    const http = await eventually(
      'sum by (method, route, status_code) (http_requests_total{job="warren-gateway", service="gateway"})',
      (samples) => samples.some((s) => s.metric.route === '/v1/orders' && s.metric.status_code === '201'),
    );
    expect(value(http, { method: 'POST', route: '/v1/users', status_code: '201' })).toBe(1);
    expect(value(http, { method: 'GET', route: '/v1/users/:id', status_code: '404' })).toBe(1);
    expect(value(http, { method: 'POST', route: '/v1/orders', status_code: '201' })).toBe(1);
    expect(http.filter((s) => /[0-9a-f]{8}-/.test(s.metric.route ?? ''))).toEqual([]);

    // Workers: requests handled by route, on the job of the worker that serves it. Each target is scraped on its own
    // schedule, so each query waits for the last request that target saw.
    const users = await eventually(
      'sum by (route, outcome) (rpc_server_duration_seconds_count{job="warren-users", service="users"})',
      // the 404, then the users.get that the orders worker made for the order
      (samples) =>
        value(samples, { route: 'users.get', outcome: 'error' }) >= 1 &&
        value(samples, { route: 'users.get', outcome: 'ok' }) >= 1,
    );
    expect(value(users, { route: 'users.create', outcome: 'ok' })).toBe(1);
    expect(value(users, { route: 'users.get', outcome: 'error' })).toBe(1);
    const orders = await eventually(
      'sum by (route) (rpc_server_duration_seconds_count{job="warren-orders", service="orders"})',
      (samples) => samples.length > 0,
    );
    expect(orders.map((s) => [s.metric.route, s.value[1]])).toEqual([['orders.create', '1']]);
    const notFound = await eventually(
      'rpc_server_errors_total{job="warren-users", route="users.get"}',
      (samples) => samples.length > 0,
    );
    expect(notFound.map((s) => [s.metric.code, s.value[1]])).toEqual([['not_found', '1']]);
    const callers = await eventually(
      'sum by (job, route) (rpc_client_duration_seconds_count{outcome="ok"})',
      (samples) => value(samples, { job: 'warren-orders', route: 'users.get' }) >= 1,
    );
    expect(value(callers, { job: 'warren-orders', route: 'users.get' })).toBe(1);
    expect(value(callers, { job: 'warren-gateway', route: 'orders.create' })).toBe(1);

    // RabbitMQ, per queue: the route queues have consumers, and messages were published into them.
    const consumers = await query(
      `rabbitmq_queue_consumers{job="warren-rabbitmq", vhost="${vhost.name}", queue=~"(users|orders)\\\\.[^.]+"}`,
    );
    expect(consumers.map((s) => [s.metric.queue, s.value[1]]).sort()).toEqual(
      [
        'orders.cancel',
        'orders.create',
        'orders.get',
        'orders.listByUser',
        'users.create',
        'users.get',
        'users.list',
        'users.update',
      ].map((queue) => [queue, '1']),
    );
    const published = await eventually(
      `sum by (queue) (rabbitmq_queue_messages_published_total{job="warren-rabbitmq", queue_vhost="${vhost.name}"})`,
      (samples) => value(samples, { queue: 'orders.create' }) === 1,
    );
    expect(value(published, { queue: 'users.create' })).toBe(1);
  });

  it('evaluates the recording rules over the scraped series', async () => {
    // A series is born with its first request, so a rate needs a second one after a scrape.
    await eventually('http_requests_total{route="/v1/users", status_code="201"}', (samples) => samples.length === 1);
    const again = await api(running.baseUrl, 'POST', '/v1/users', { body: { name: 'Again', email: uniqueEmail() } });
    expect(again.status).toBe(201);
    const rate = await eventually(
      'service_route:http_requests:rate5m{route="/v1/users", status_code="201"} > 0',
      (samples) => samples.length === 1,
    );
    expect(rate[0]!.metric).toMatchObject({ job: 'warren-gateway', service: 'gateway' });
    expect(Number(rate[0]!.value[1])).toBeGreaterThan(0);
    // the ops endpoints Prometheus itself scrapes are left out
    expect(await query('service_route:http_requests:rate5m{route="/metrics"}')).toEqual([]);
  });

  it('accepts every dashboard and rule expression (Prometheus 2.42 parses and evaluates each)', async () => {
    const expressions = [...loadDashboards().flatMap(dashboardExpressions), ...ruleExpressions(loadRules())];
    const refused: string[] = [];
    for (const { origin, expr } of expressions) {
      await query(expr).catch((error: Error) => refused.push(`${origin}: ${error.message}`));
    }
    expect(refused).toEqual([]);
    expect(expressions.length).toBeGreaterThan(60);
  });

  it('raises WarrenServiceDown (pending, then for: 1m) when a worker stops answering', async () => {
    expect(await query('ALERTS{alertname="WarrenServiceDown"}')).toEqual([]);
    await running.suite.kill('users');
    await eventually('up{job="warren-users"}', (samples) => samples[0]?.value[1] === '0');
    const pending = await eventually('ALERTS{alertname="WarrenServiceDown"}', (samples) => samples.length > 0);
    expect(pending.map((s) => [s.metric.job, s.metric.alertstate, s.metric.severity])).toEqual([
      ['warren-users', 'pending', 'critical'],
    ]);
  });
});
