import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { startJaeger, type RunningJaeger } from '@warren/launcher';
import { fetchTrace, renderTree, waitForTrace, type Span } from './support/jaeger-query';
import { e2eLogPath } from './support/e2e-secrets';
import { api, uniqueEmail } from './support/http';
import { freePort } from './support/network';
import { startRunningSuite } from './support/running-suite';
import { PrivateVhost } from './support/vhost';

// One request followed through the three processes with a real OTLP receiver: Jaeger v2 (built by
// `scripts/tools.sh jaeger`, which scripts/test.sh runs first), in-memory storage, on free ports.

jest.setTimeout(120_000);

/** The JSON log lines one service wrote to the suite's log file. */
function logLines(logPath: string, service: string): Record<string, any>[] {
  const prefix = `[${service}] `;
  return readFileSync(logPath, 'utf8')
    .split('\n')
    .filter((line) => line.startsWith(prefix))
    .map((line) => line.slice(prefix.length))
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, any>);
}

/** The first line of `service` that `matches`, waiting for it (service output reaches the file asynchronously). */
async function waitForLogLine(
  logPath: string,
  service: string,
  matches: (line: Record<string, any>) => boolean,
): Promise<Record<string, any> | undefined> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const line = logLines(logPath, service).find(matches);
    if (line || Date.now() > deadline) return line;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

const orderBody = (userId: string) => ({
  userId,
  currency: 'EUR',
  items: [{ sku: 'BOOK-1', quantity: 2, unitPriceCents: 1250 }],
});

describe('one trace through gateway → orders → users (Jaeger v2 as the OTLP receiver)', () => {
  const vhost = new PrivateVhost();
  const logPath = e2eLogPath(`tracing-${process.pid}`);
  let jaeger: RunningJaeger;
  let running: Awaited<ReturnType<typeof startRunningSuite>>;

  beforeAll(async () => {
    jaeger = await startJaeger({ otlpHttpPort: await freePort(), queryPort: await freePort() });
    await vhost.create();
    running = await startRunningSuite(
      {
        // A broker vhost of its own: only these workers can take the calls this test follows.
        AMQP_URL: vhost.amqpUrl,
        OTEL_TRACES_EXPORTER: 'otlp',
        OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpHttpEndpoint,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
        OTEL_TRACES_SAMPLER: 'parentbased_always_on',
        // What the Helm chart passes from the downward API, and the environment's name.
        OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=e2e,k8s.namespace.name=warren-e2e,k8s.pod.name=pod-e2e',
        OTEL_BSP_SCHEDULE_DELAY: '100',
      },
      { logPath },
    );
  });
  afterAll(async () => {
    await running?.stop();
    await jaeger?.stop();
    await vhost.delete();
  });

  it('links every span of POST /v1/orders into one tree across the three services', async () => {
    const user = await api(running.baseUrl, 'POST', '/v1/users', {
      body: { name: 'Traced User', email: uniqueEmail('traced') },
    });
    expect(user.status).toBe(201);

    // The test is the trace's root: its traceparent names a span only it knows.
    const traceId = hex(16);
    const callerSpanId = hex(8);
    const requestId = `req-trace-${hex(4)}`;
    const created = await api(running.baseUrl, 'POST', '/v1/orders', {
      body: orderBody(user.body.id),
      headers: {
        traceparent: `00-${traceId}-${callerSpanId}-01`,
        'x-request-id': requestId,
        // An Idempotency-Key makes the gateway claim and record it in Redis: Redis spans in the trace.
        'idempotency-key': `trace-${traceId}`,
        // Nothing checks it, and no log line may show it.
        authorization: 'Bearer not-for-the-logs',
      },
    });
    expect(created.status).toBe(201);

    const find = (spans: Span[], service: string, name: string, kind: string) =>
      spans.filter((span) => span.service === service && span.name === name && span.kind === kind);
    const { trace, spans } = await waitForTrace(
      jaeger.queryUrl,
      traceId,
      (all) =>
        find(all, 'users', 'users.get', 'server').length === 1 &&
        find(all, 'gateway', 'orders.create', 'client').length === 1 &&
        all.some((span) => span.service === 'users' && span.attributes['db.system.name'] === 'postgresql') &&
        all.some((span) => span.service === 'gateway' && span.attributes['db.system.name'] === 'redis') &&
        all.some((span) => span.service === 'gateway' && span.kind === 'server'),
    );
    const tree = renderTree(spans);
    process.stdout.write(`\ntrace ${traceId} (${spans.length} spans):\n${tree}\n\n`);

    // Three processes, named by their resources, with the version and the environment's attributes.
    const processes = Object.values(trace.processes);
    expect(new Set(processes.map((process) => process.serviceName))).toEqual(new Set(['gateway', 'orders', 'users']));
    for (const process of processes) {
      const tags = Object.fromEntries(process.tags.map((tag) => [tag.key, tag.value]));
      expect(tags).toMatchObject({
        'service.version': '0.1.0',
        'deployment.environment': 'e2e',
        'k8s.namespace.name': 'warren-e2e',
        'k8s.pod.name': 'pod-e2e',
      });
    }

    // No orphan: one root, the gateway's HTTP server span, child of the test's span; every other parent is here.
    const byId = new Map(spans.map((span) => [span.id, span]));
    const roots = spans.filter((span) => span.parentId === undefined || !byId.has(span.parentId));
    expect(roots).toHaveLength(1);
    const root = roots[0]!;
    expect(root).toMatchObject({ service: 'gateway', kind: 'server', name: 'POST /v1/orders', parentId: callerSpanId });
    expect(new Set(spans.map((span) => span.id)).size).toBe(spans.length);

    const isUnder = (span: Span, ancestor: Span): boolean => {
      for (let parent = byId.get(span.parentId ?? ''); parent; parent = byId.get(parent.parentId ?? '')) {
        if (parent.id === ancestor.id) return true;
      }
      return false;
    };
    const only = (service: string, name: string, kind: string) => {
      const matching = find(spans, service, name, kind);
      expect(matching).toHaveLength(1);
      return matching[0]!;
    };

    // gateway HTTP server → RPC client orders.create → orders server → RPC client users.get → users server
    const gatewayCall = only('gateway', 'orders.create', 'client');
    expect(gatewayCall.parentId).toBe(root.id);
    // No Express layer spans (router, request handler): the route is on the server span itself.
    expect(spans.filter((span) => span.attributes['express.type'] !== undefined)).toHaveLength(0);
    expect(root.attributes['http.route']).toBe('/v1/orders');
    const ordersHandler = only('orders', 'orders.create', 'server');
    expect(ordersHandler.parentId).toBe(gatewayCall.id);
    const ordersCall = only('orders', 'users.get', 'client');
    expect(ordersCall.parentId).toBe(ordersHandler.id);
    const usersHandler = only('users', 'users.get', 'server');
    expect(usersHandler.parentId).toBe(ordersCall.id);

    // Database and cache spans where each process does its work.
    const postgres = (service: string) =>
      spans.filter((span) => span.service === service && span.attributes['db.system.name'] === 'postgresql');
    expect(postgres('users').filter((span) => span.name.startsWith('pg.query'))).not.toHaveLength(0);
    for (const span of postgres('users')) expect(isUnder(span, usersHandler)).toBe(true);
    expect(postgres('orders').filter((span) => span.name.startsWith('pg.query:INSERT'))).not.toHaveLength(0);
    for (const span of postgres('orders')) expect(isUnder(span, ordersHandler)).toBe(true);
    expect(postgres('gateway')).toHaveLength(0);
    const redis = spans.filter((span) => span.attributes['db.system.name'] === 'redis');
    expect(redis.length).toBeGreaterThanOrEqual(2); // the idempotency claim and record (the rate limit claims a lease at a time)
    for (const span of redis) {
      expect(span.service).toBe('gateway');
      expect(isUnder(span, root)).toBe(true);
      // Keys, never values: the recorded idempotent response must not be in the trace.
      expect(String(span.attributes['db.query.text'] ?? '')).not.toContain(user.body.id);
    }

    // Messaging spans: exactly @warren/rpc's CLIENT and SERVER span per call — none from an amqplib
    // instrumentation (no PRODUCER/CONSUMER spans, no second span per message).
    const messaging = spans.filter((span) => span.attributes['messaging.system'] !== undefined);
    expect(messaging.map((span) => `${span.service} ${span.name} ${span.kind}`).sort()).toEqual([
      'gateway orders.create client',
      'orders orders.create server',
      'orders users.get client',
      'users users.get server',
    ]);
    expect(spans.filter((span) => span.kind === 'producer' || span.kind === 'consumer')).toHaveLength(0);
    expect(
      spans.filter((span) => span.attributes['otel.scope.name'] === '@opentelemetry/instrumentation-amqplib'),
    ).toHaveLength(0);

    // Log correlation: the worker's line written inside the handler names the trace, the handler's span and
    // the request (requestId comes as baggage from the gateway, not from the call's log fields).
    const orderCreated = await waitForLogLine(
      logPath,
      'orders',
      (line) => line.msg === 'order created' && line.orderId === created.body.id,
    );
    expect(orderCreated).toMatchObject({
      service: 'orders',
      requestId,
      trace_id: traceId,
      span_id: ordersHandler.id,
      trace_flags: '01',
    });
    const completed = await waitForLogLine(
      logPath,
      'gateway',
      (line) => line.msg === 'request completed' && line.requestId === requestId,
    );
    expect(completed).toMatchObject({ service: 'gateway', trace_id: traceId, span_id: root.id });
    // The access line's request: method, url, headers — no body; credentials redacted.
    expect(completed?.req.headers.authorization).toBe('***');
    expect(JSON.stringify(completed)).not.toMatch(/not-for-the-logs|"body"|BOOK-1/);
  });

  it('leaves probes and scrapes out of the traces', async () => {
    const traceId = hex(16);
    const probe = await fetch(`${running.baseUrl}/healthz`, {
      headers: { traceparent: `00-${traceId}-${hex(8)}-01` },
      signal: AbortSignal.timeout(5000),
    });
    expect(probe.status).toBe(200);
    // Spans are exported within ~100 ms (OTEL_BSP_SCHEDULE_DELAY); give them ample time to show up if any.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await fetchTrace(jaeger.queryUrl, traceId)).toBeUndefined();
  });
});

describe('telemetry never breaks a request', () => {
  const vhost = new PrivateVhost();

  beforeAll(() => vhost.create());
  afterAll(() => vhost.delete());

  it('answers as usual when the collector is down', async () => {
    const logPath = e2eLogPath(`tracing-down-${process.pid}`);
    const closedPort = await freePort();
    const running = await startRunningSuite(
      {
        AMQP_URL: vhost.amqpUrl,
        OTEL_TRACES_EXPORTER: 'otlp',
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${closedPort}`,
        OTEL_BSP_SCHEDULE_DELAY: '100',
      },
      { logPath },
    );
    try {
      const user = await api(running.baseUrl, 'POST', '/v1/users', {
        body: { name: 'Untraced User', email: uniqueEmail('down') },
      });
      expect(user.status).toBe(201);
      const order = await api(running.baseUrl, 'POST', '/v1/orders', { body: orderBody(user.body.id) });
      expect(order.status).toBe(201);
      // Several failed exports later (and a shutdown that tries to flush), nothing about them is in the logs.
      await new Promise((resolve) => setTimeout(resolve, 1000));
    } finally {
      const stopStartedAt = Date.now();
      await running.stop();
      // Each service's telemetry shutdown step gives up on the collector after 2 s at most.
      expect(Date.now() - stopStartedAt).toBeLessThan(12_000);
    }
    expect(readFileSync(logPath, 'utf8')).not.toMatch(
      /ECONNREFUSED|OTLPExporterError|export failed|shutdown step failed/i,
    );
  });

  it('answers as usual with OTEL_SDK_DISABLED=true, and the request id still reaches the workers’ logs', async () => {
    const logPath = `/tmp/warren-e2e-tracing-off-${process.pid}.log`;
    const running = await startRunningSuite({ AMQP_URL: vhost.amqpUrl, OTEL_SDK_DISABLED: 'true' }, { logPath });
    try {
      const user = await api(running.baseUrl, 'POST', '/v1/users', {
        body: { name: 'Untraced User', email: uniqueEmail('off') },
      });
      expect(user.status).toBe(201);
      const requestId = `req-off-${hex(4)}`;
      const order = await api(running.baseUrl, 'POST', '/v1/orders', {
        body: orderBody(user.body.id),
        headers: { traceparent: `00-${hex(16)}-${hex(8)}-01`, 'x-request-id': requestId },
      });
      expect(order.status).toBe(201);
      const orderCreated = await waitForLogLine(
        logPath,
        'orders',
        (line) => line.msg === 'order created' && line.orderId === order.body.id,
      );
      expect(orderCreated).toMatchObject({ service: 'orders', requestId });
      expect(orderCreated).not.toHaveProperty('trace_id');
    } finally {
      await running.stop();
    }
  });
});
