import { RpcUnavailableError } from '../../src';
import { closeConnections, eventually, findConnectionsNamed, rawChannel } from '../broker';
import { metricValue, sleep, startEchoPair } from '../fixture';

jest.setTimeout(60_000);

describe('when the broker connection drops', () => {
  let pair: Awaited<ReturnType<typeof startEchoPair>>;

  beforeEach(async () => {
    pair = await startEchoPair();
  });
  afterEach(async () => {
    expect(pair.client.pendingCount).toBe(0);
    await pair.stop();
  });

  it('rejects every in-flight call at once, fails new calls fast, and serves again after recovery', async () => {
    const clientConnections = await findConnectionsNamed(pair.clientName);
    const inFlight = Array.from({ length: 20 }, (_, index) =>
      pair.client.call(pair.route, { text: `in-flight-${index}`, delayMs: 2000 }, { timeoutMs: 30_000 }),
    );
    const settled = Promise.allSettled(inFlight);
    await eventually(() => pair.handled.length >= 20);

    await closeConnections(clientConnections);
    const results = await settled;
    // Each call carried a 30 s deadline; only the connection loss can have settled them this early.
    const outcomes = results.map((result) => (result.status === 'rejected' ? result.reason.name : 'fulfilled'));
    expect(outcomes).toEqual(Array(20).fill('RpcUnavailableError'));

    await eventually(() => !pair.client.isConnected || pair.client.pendingCount === 0);
    if (!pair.client.isConnected) {
      await expect(pair.client.call(pair.route, { text: 'while down' })).rejects.toBeInstanceOf(RpcUnavailableError);
    }

    await eventually(() => pair.client.isConnected);
    await expect(pair.client.call(pair.route, { text: 'after recovery' })).resolves.toMatchObject({
      text: 'after recovery',
    });
  });

  it('brings the server back on its own: consumers are re-created and calls succeed', async () => {
    const serverName = (pair.server as unknown as { options: { connectionName: string } }).options.connectionName;
    await closeConnections(await findConnectionsNamed(serverName));
    // Seen in its log, not by polling isConsuming: the reconnection can be quicker than any poll (RabbitMQ 4).
    const lostConnections = () =>
      pair.logger.lines.filter(
        (line) =>
          line.message === 'amqp connection lost' && (line.object as { connection?: string }).connection === serverName,
      ).length;
    await eventually(() => lostConnections() === 1);
    await eventually(() => pair.server.isConsuming);
    const replies = await Promise.all(
      Array.from({ length: 50 }, (_, index) => pair.client.call(pair.route, { text: `after-${index}` })),
    );
    expect(replies).toHaveLength(50);
  });
});

describe('when the broker cancels a consumer (its queue deleted under the running server)', () => {
  it('declares the queue again, consumes it again, counts the cancellation, and serves', async () => {
    const pair = await startEchoPair();
    try {
      await expect(pair.client.call(pair.route, { text: 'before' })).resolves.toMatchObject({ text: 'before' });
      const { connection, channel } = await rawChannel();
      try {
        await channel.deleteQueue(pair.route.name);
      } finally {
        await connection.close();
      }
      const cancellations = () =>
        metricValue(pair.registry, 'rpc_server_consumer_cancellations_total', { route: pair.route.name });
      await eventually(async () => (await cancellations()) === 1);
      await eventually(() => pair.server.isConsuming);
      expect(pair.logger.lines.map((line) => line.message)).toEqual(
        expect.arrayContaining(['rpc consumer cancelled by the broker: consuming again', 'rpc consumer restored']),
      );
      await expect(pair.client.call(pair.route, { text: 'after' })).resolves.toMatchObject({ text: 'after' });
      expect(await cancellations()).toBe(1);
    } finally {
      await pair.stop();
    }
  });
});

describe('graceful drain', () => {
  it('finishes in-flight work before closing, and takes no new work', async () => {
    const pair = await startEchoPair();
    try {
      const calls = Array.from({ length: 10 }, (_, index) =>
        pair.client.call(pair.route, { text: `draining-${index}`, delayMs: 400 }),
      );
      await eventually(() => pair.server.inFlightCount === 10);
      await pair.server.close();

      expect(pair.server.inFlightCount).toBe(0);
      expect(pair.server.isConsuming).toBe(false);
      const replies = await Promise.all(calls);
      expect(replies.map((reply) => reply.text)).toEqual(calls.map((_, index) => `draining-${index}`));

      // With no consumer left, a new call waits in the queue until its deadline instead of being handled.
      await expect(pair.client.call(pair.route, { text: 'too late' }, { timeoutMs: 300 })).rejects.toMatchObject({
        code: 'deadline_exceeded',
      });
      await sleep(50);
      expect(pair.handled).not.toContain('too late');
    } finally {
      await pair.stop();
    }
  });
});
