import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPOSITORY_ROOT, type ServiceName } from '@warren/launcher';
import { ROUTE_QUEUE_POLICY_NAME, routeQueuePolicy, type RouteQueuePolicy } from '@warren/rpc';
import { connect, type Channel } from 'amqplib';
import { parseAllDocuments } from 'yaml';
import { LOCAL_ADMIN, RABBITMQ_MANAGEMENT_URL } from './support/e2e-secrets';
import { api } from './support/http';
import { poll } from './support/poll';
import { startRunningSuite } from './support/running-suite';

// The chart's broker users (rabbitmq.auth.perServiceUsers) on the real broker: the definitions the in-chart
// RabbitMQ's init container writes, from the chart's own render, imported into a vhost of this run's; then the
// three services, each connected as its own user, serve the API, and no user can take another's messages.

jest.setTimeout(120_000);

const CHART = join(REPOSITORY_ROOT, 'charts/warren');
const HELM = join(REPOSITORY_ROOT, '.tools/bin/helm');
const DEFINITIONS_SCRIPT = join(CHART, 'files/rabbitmq/definitions.mjs');
const run = randomBytes(3).toString('hex');
const vhost = `warren-e2e-broker-users-${run}`;
const admin = `warren-e2e-admin-${run}`;

/** The RabbitMQ init container's environment, as `helm template` renders it for this run's vhost and user names. */
function renderedDefinitionsSpec(): string {
  const rendered = execFileSync(
    HELM,
    [
      'template',
      't',
      CHART,
      '--set',
      'gateway.config.authDisabled=true',
      '--set',
      `rabbitmq.vhost=${vhost}`,
      '--set',
      `rabbitmq.auth.username=${admin}`,
    ],
    { encoding: 'utf8', maxBuffer: 64 << 20 },
  );
  const broker = parseAllDocuments(rendered)
    .map((document) => document.toJS())
    .find((object) => object?.kind === 'StatefulSet' && object.metadata.name.endsWith('-rabbitmq'));
  const init = broker.spec.template.spec.initContainers.find((container: any) => container.name === 'definitions');
  return init.env.find((variable: any) => variable.name === 'BROKER_DEFINITIONS').value;
}

async function management(method: string, path: string, body?: unknown): Promise<Response> {
  const response = await fetch(`${RABBITMQ_MANAGEMENT_URL}${path}`, {
    method,
    headers: {
      authorization: `Basic ${Buffer.from(`${LOCAL_ADMIN.user}:${LOCAL_ADMIN.password}`).toString('base64')}`,
      'content-type': 'application/json',
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  if (!response.ok && !(method === 'DELETE' && response.status === 404)) {
    throw new Error(`RabbitMQ management ${method} ${path}: ${response.status} ${await response.text()}`);
  }
  return response;
}

describe("the chart's per-service broker users, on the real broker", () => {
  const passwords: Record<string, string> = {
    RABBITMQ_ADMIN_PASSWORD: randomBytes(12).toString('hex'),
    RABBITMQ_GATEWAY_PASSWORD: randomBytes(12).toString('hex'),
    RABBITMQ_USERS_PASSWORD: randomBytes(12).toString('hex'),
    RABBITMQ_ORDERS_PASSWORD: randomBytes(12).toString('hex'),
  };
  const urlOf = (service: ServiceName) =>
    `amqp://${admin}-${service}:${passwords[`RABBITMQ_${service.toUpperCase()}_PASSWORD`]}@127.0.0.1:5672/${encodeURIComponent(vhost)}`;
  let definitions: { users: { name: string }[]; vhosts: { name: string }[] };
  let running: Awaited<ReturnType<typeof startRunningSuite>>;

  beforeAll(async () => {
    const directory = mkdtempSync(join(tmpdir(), 'warren-definitions-'));
    try {
      const output = join(directory, 'definitions.json');
      execFileSync(process.execPath, [DEFINITIONS_SCRIPT, output], {
        env: { ...process.env, ...passwords, BROKER_DEFINITIONS: renderedDefinitionsSpec() },
      });
      definitions = JSON.parse(readFileSync(output, 'utf8'));
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
    // What RabbitMQ does with load_definitions at boot, through its HTTP API.
    await management('POST', '/api/definitions', definitions);
    running = await startRunningSuite(
      { AMQP_URL: urlOf('gateway') },
      { serviceEnvironment: { users: { AMQP_URL: urlOf('users') }, orders: { AMQP_URL: urlOf('orders') } } },
    );
  });
  afterAll(async () => {
    await running?.stop();
    await management('DELETE', `/api/vhosts/${encodeURIComponent(vhost)}`);
    for (const user of definitions?.users ?? [])
      await management('DELETE', `/api/users/${encodeURIComponent(user.name)}`);
  });

  it('writes hashes, never the passwords, for the administrator and one user per service', () => {
    expect(definitions.vhosts).toEqual([{ name: vhost }]);
    expect(definitions.users.map((user) => user.name)).toEqual([
      admin,
      `${admin}-gateway`,
      `${admin}-users`,
      `${admin}-orders`,
    ]);
    const text = JSON.stringify(definitions);
    for (const password of Object.values(passwords)) expect(text).not.toContain(password);
  });

  it("sets the route queue policy on the vhost, which the workers' route queues then carry", async () => {
    const { vhost: _vhost, ...imported } = (await (
      await management('GET', `/api/policies/${encodeURIComponent(vhost)}/${ROUTE_QUEUE_POLICY_NAME}`)
    ).json()) as RouteQueuePolicy & { vhost: string };
    expect(imported).toEqual(routeQueuePolicy());
    // Declared by the users worker as its own user, with only its type as an argument; the policy gives the rest.
    const queue = await poll('users.create under the policy', 15_000, async () => {
      const response = await management('GET', `/api/queues/${encodeURIComponent(vhost)}/users.create`);
      const listed = (await response.json()) as { arguments: object; policy?: string };
      return listed.policy === undefined ? undefined : listed;
    });
    expect(queue).toEqual(
      expect.objectContaining({ arguments: { 'x-queue-type': 'quorum' }, policy: ROUTE_QUEUE_POLICY_NAME }),
    );
  });

  it('serves the API with each service connected as its own user: a user, an order placed through users.get', async () => {
    const user = await api(running.baseUrl, 'POST', '/v1/users', {
      body: { name: 'Least Privilege', email: `least-${run}@example.com` },
    });
    expect(user.status).toBe(201);
    const order = await api(running.baseUrl, 'POST', '/v1/orders', {
      body: { userId: user.body.id, currency: 'EUR', items: [{ sku: 'BRK-1', quantity: 1, unitPriceCents: 100 }] },
    });
    expect(order.status).toBe(201);
    expect((await api(running.baseUrl, 'GET', `/v1/orders/${order.body.id}`)).status).toBe(200);
    // The management API lists connections on its next statistics tick (every 5 s by default).
    const expected = [`${admin}-gateway`, `${admin}-orders`, `${admin}-users`];
    let users: string[] = [];
    for (let attempt = 0; attempt < 40 && users.join() !== expected.join(); attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 500));
      const listed = await management('GET', `/api/vhosts/${encodeURIComponent(vhost)}/connections`);
      users = [...new Set(((await listed.json()) as { user: string }[]).map((connection) => connection.user))].sort();
    }
    expect(users).toEqual(expected);
  });

  // Each line: who tries, what, and the resource the broker names in its refusal.
  const refusals: [ServiceName, string, (channel: Channel) => Promise<unknown>, RegExp][] = [
    [
      'gateway',
      "consumes the users worker's queue",
      (channel) => channel.consume('users.get', () => undefined),
      /users\.get/,
    ],
    ['gateway', 'declares a queue', (channel) => channel.assertQueue('gateway-made'), /gateway-made/],
    ['gateway', 'purges a route queue', (channel) => channel.purgeQueue('orders.create'), /orders\.create/],
    [
      'users',
      "consumes the orders worker's queue",
      (channel) => channel.consume('orders.get', () => undefined),
      /orders\.get/,
    ],
    [
      'orders',
      "consumes the users worker's queue",
      (channel) => channel.consume('users.create', () => undefined),
      /users\.create/,
    ],
    ['orders', "deletes the users worker's queue", (channel) => channel.deleteQueue('users.get'), /users\.get/],
  ];

  it.each(refusals)('refuses when the %s user %s (403 ACCESS_REFUSED)', async (service, _what, attempt, resource) => {
    const connection = await connect(urlOf(service));
    connection.on('error', () => undefined);
    try {
      const channel = await connection.createChannel();
      channel.on('error', () => undefined);
      // The refusal names the resource: it is this permission, not a missing vhost or a failed login.
      const refusal = await attempt(channel).then(
        () => new Error('allowed'),
        (error: Error) => error,
      );
      expect(refusal.message).toMatch(/ACCESS_REFUSED/);
      expect(refusal.message).toMatch(resource);
    } finally {
      await connection.close().catch(() => undefined);
    }
    // The route queues are intact: the API still answers.
    expect((await api(running.baseUrl, 'GET', '/v1/users?limit=1')).status).toBe(200);
  });
});
