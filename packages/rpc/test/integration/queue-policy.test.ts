import { connect, type ChannelModel } from 'amqplib';
import {
  applyRouteQueuePolicy,
  defineRoute,
  LEGACY_QUEUE_ARGUMENTS,
  RpcClient,
  RpcServer,
  type RouteQueuePolicySettings,
} from '../../src';
import { AMQP_URL, deleteRouteQueues, eventually, management, MANAGEMENT_URL, rawChannel, uniqueName } from '../broker';
import { echoSchemas, recordingLogger } from '../fixture';

/**
 * Dead-lettering and the delivery limit come from a broker policy, not from queue arguments (queue-policy.ts):
 * changed on a live queue, the new limit holds at once, and the servers declaring that queue again never fail.
 * Each test sets a policy of its own over its own queue prefix, above the vhost-wide one, and deletes it after.
 */

jest.setTimeout(60_000);

describe('route queue settings from the broker policy', () => {
  let raw: Awaited<ReturnType<typeof rawChannel>>;
  let policyName: string;
  let queuePrefix: string;
  const servers: RpcServer[] = [];

  beforeAll(async () => {
    raw = await rawChannel();
  });
  beforeEach(() => {
    queuePrefix = `${uniqueName('policy')}.`;
    policyName = `test-${queuePrefix}`;
  });
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.close()));
    await managementDelete(`/policies/%2F/${encodeURIComponent(policyName)}`);
  });
  afterAll(async () => {
    await raw.connection.close();
  });

  const applyPolicy = (settings: RouteQueuePolicySettings) =>
    applyRouteQueuePolicy({ url: MANAGEMENT_URL }, { ...settings, queuePrefix, name: policyName, priority: 10 });

  async function startServer(route = defineRoute('test.poison', echoSchemas)) {
    const logger = recordingLogger();
    const server = new RpcServer({ url: AMQP_URL, connectionName: uniqueName('policy-server'), queuePrefix, logger });
    server.handle(route, ({ text }) => ({ text, pid: process.pid }));
    servers.push(server);
    await server.start();
    return { server, logger, route };
  }

  /**
   * Publishes a message to `queue`, then takes it off and returns it by closing the channel unacked, as a worker
   * that dies with it would, until the broker dead-letters it: how many deliveries it got.
   */
  async function deliveriesUntilDeadLettered(queue: string): Promise<number> {
    const deadLetterQueue = `${queue}.dead-letter`;
    raw.channel.sendToQueue(queue, Buffer.from('{"text":"poison"}'), { persistent: true });
    const connection: ChannelModel = await connect(AMQP_URL);
    try {
      for (let deliveries = 0; deliveries < 50;) {
        let where: 'queue' | 'dead-letter queue' | undefined;
        await eventually(async () => {
          if ((await raw.channel.checkQueue(queue)).messageCount > 0) where = 'queue';
          else if ((await raw.channel.checkQueue(deadLetterQueue)).messageCount > 0) where = 'dead-letter queue';
          return where !== undefined;
        });
        if (where === 'dead-letter queue') {
          await raw.channel.purgeQueue(deadLetterQueue);
          return deliveries;
        }
        const channel = await connection.createChannel();
        if ((await channel.get(queue, { noAck: false })) !== false) deliveries++;
        await channel.close();
      }
      throw new Error(`${queue} never dead-lettered its message`);
    } finally {
      await connection.close();
    }
  }

  it('changes the delivery limit on the live queue, and a server declaring it again starts without a 406', async () => {
    await applyPolicy({ deliveryLimit: 1 });
    const { route } = await startServer();
    const queue = `${queuePrefix}${route.name}`;
    await Promise.all(servers.splice(0).map((server) => server.close()));
    const withLimitOne = await deliveriesUntilDeadLettered(queue);

    await applyPolicy({ deliveryLimit: 6 });
    const again = await startServer(route);
    expect(again.server.isConsuming).toBe(true);
    expect(again.logger.lines.filter((line) => line.level === 'warn')).toEqual([]);
    await Promise.all(servers.splice(0).map((server) => server.close()));
    const withLimitSix = await deliveriesUntilDeadLettered(queue);

    // Above the limit of 5 the queues' arguments used to carry: a queue with that argument would keep the lower one.
    expect({ withLimitOne, withLimitSix }).toEqual({ withLimitOne: 2, withLimitSix: 7 });
    const status = await queueFromManagement(queue);
    expect(status).toMatchObject({
      arguments: { 'x-queue-type': 'quorum' },
      policy: policyName,
      effective_policy_definition: { 'delivery-limit': 6, 'dead-letter-exchange': 'warren.dead-letter' },
    });
    expect(Object.keys(status.arguments)).toEqual(['x-queue-type']);
    await deleteRouteQueues(raw.channel, queue);
  });

  it('serves a queue an earlier version declared with dead-letter arguments, and says so once per declaration', async () => {
    const route = defineRoute('test.legacy', echoSchemas);
    const queue = `${queuePrefix}${route.name}`;
    await raw.channel.assertQueue(queue, {
      durable: true,
      arguments: { 'x-queue-type': 'quorum', 'x-dead-letter-exchange': 'warren.dead-letter', 'x-delivery-limit': 5 },
    });
    const { server, logger } = await startServer(route);
    expect(server.isConsuming).toBe(true);
    const client = new RpcClient({ url: AMQP_URL, connectionName: uniqueName('policy-client'), queuePrefix });
    await client.start();
    try {
      await expect(client.call(route, { text: 'still served' })).resolves.toMatchObject({ text: 'still served' });
    } finally {
      await client.close();
    }
    const warnings = logger.lines.filter((line) => line.level === 'warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.object).toMatchObject({ queue, arguments: LEGACY_QUEUE_ARGUMENTS });
    await Promise.all(servers.splice(0).map((each) => each.close()));
    await deleteRouteQueues(raw.channel, queue);
  });
});

async function managementDelete(path: string): Promise<void> {
  const response = await management(path, { method: 'DELETE' });
  if (!response.ok && response.status !== 404) throw new Error(`DELETE ${path}: ${response.status}`);
}

/** The management API's view of a queue; its policy fields show up after a statistics tick, so this polls. */
async function queueFromManagement(queue: string): Promise<{
  arguments: Record<string, unknown>;
  policy?: string;
  effective_policy_definition?: Record<string, unknown>;
}> {
  let status: Awaited<ReturnType<typeof queueFromManagement>> | undefined;
  await eventually(async () => {
    const response = await management(`/queues/%2F/${encodeURIComponent(queue)}`);
    status = (await response.json()) as typeof status;
    return status?.policy !== undefined;
  });
  return status!;
}
