import { Registry } from 'prom-client';
import {
  DEADLINE_HEADER,
  DeadLetterClient,
  defineRoute,
  IDEMPOTENCY_KEY_HEADER,
  RpcServer,
  type HandlerContext,
} from '../../src';
import { AMQP_URL, eventually, rawChannel, uniqueName } from '../broker';
import { echoSchemas, metricValue } from '../fixture';

jest.setTimeout(30_000);

describe('DeadLetterClient against the real broker', () => {
  // Queues of this test's own: every queue name starts with the prefix, for the server and the client alike.
  const queuePrefix = `${uniqueName('dlq')}.`;
  const route = defineRoute('test.echo', echoSchemas);
  const routeQueue = `${queuePrefix}${route.name}`;
  const deadLetterQueue = `${routeQueue}.dead-letter`;
  const registry = new Registry();
  const handled: { text: string; context: HandlerContext }[] = [];
  const server = new RpcServer({ url: AMQP_URL, connectionName: uniqueName('dlq-server'), registry, queuePrefix });
  server.handle(route, ({ text }, context) => {
    handled.push({ text, context });
    return { text, pid: process.pid };
  });
  let raw: Awaited<ReturnType<typeof rawChannel>>;
  let client: DeadLetterClient;

  const depth = async (queue = deadLetterQueue) => (await raw.channel.checkQueue(queue)).messageCount;
  const ids = (letters: { messageId?: string; correlationId?: string }[]) =>
    letters.map((letter) => letter.messageId ?? letter.correlationId);

  beforeAll(async () => {
    await server.start();
    raw = await rawChannel();
    // Direct reply-to needs a consumer on the publishing channel; the replies themselves are not looked at.
    await raw.channel.consume('amq.rabbitmq.reply-to', () => undefined, { noAck: true });
    // Three poison messages, dead-lettered by the server (reason `rejected`), in this order:
    raw.channel.sendToQueue(routeQueue, Buffer.from('{"text":{"$ne":1}}'), {
      correlationId: 'bad-1',
      replyTo: 'amq.rabbitmq.reply-to',
    }); // fails the schema
    raw.channel.sendToQueue(routeQueue, Buffer.from('{"text":"again"}'), {
      messageId: 'm-ok',
      headers: { [DEADLINE_HEADER]: Date.now() + 600_000, [IDEMPOTENCY_KEY_HEADER]: 'key-ok' },
    }); // no reply_to, deadline ahead
    raw.channel.sendToQueue(routeQueue, Buffer.from('{"text":"late"}'), {
      messageId: 'm-late',
      headers: { [DEADLINE_HEADER]: Date.now() - 1000 },
    }); // no reply_to, deadline passed
    await eventually(async () => (await depth()) === 3);
    client = await DeadLetterClient.open({ url: AMQP_URL, connectionName: uniqueName('dlq-client'), queuePrefix });
  });
  afterAll(async () => {
    await client?.close();
    await server.close();
    for (const queue of [routeQueue, deadLetterQueue, `${queuePrefix}test.ghost.dead-letter`]) {
      await raw.channel.deleteQueue(queue);
    }
    await raw.connection.close();
  });

  it('lists without consuming: the dead letters come back, in their order, and their reason is the broker’s', async () => {
    const first = await client.take(route.name);
    expect(first.waiting).toBe(3);
    expect(ids(first.letters)).toEqual(['bad-1', 'm-ok', 'm-late']);
    expect(first.letters.map((letter) => letter.position)).toEqual([1, 2, 3]);
    for (const letter of first.letters) {
      expect(letter.death).toEqual({ reason: 'rejected', queue: routeQueue, time: expect.any(Number), count: 1 });
    }
    expect(first.letters[1]!.headers[IDEMPOTENCY_KEY_HEADER]).toBe('key-ok');
    expect(first.letters[2]!.deadline).toBeLessThan(Date.now());
    expect(await depth()).toBe(0); // taken: held unacked by the client
    first.release();

    await eventually(async () => (await depth()) === 3);
    const again = await client.take(route.name, { ids: ['m-late'] });
    expect(ids(again.letters)).toEqual(['m-late']);
    again.release();
    await eventually(async () => (await depth()) === 3);
    // A quorum queue puts a message it gets back behind the others: choosing one still takes and returns them all.
    const oldest = await client.take(route.name, { limit: 1 });
    expect(ids(oldest.letters)).toEqual(['bad-1']);
    oldest.release();
    await eventually(async () => (await depth()) === 3);
    const order = await client.take(route.name);
    expect(ids(order.letters)).toEqual(['bad-1', 'm-ok', 'm-late']);
    order.release();
  });

  it("exports the dead-letter queue's depth as rpc_dead_letter_messages, asked of the broker at scrape time", async () => {
    await eventually(async () => (await depth()) === 3);
    expect(await metricValue(registry, 'rpc_dead_letter_messages', { queue: deadLetterQueue })).toBe(3);
  });

  it('replays a dead letter onto its route as a call of its own, and acks it once the broker confirmed it', async () => {
    await eventually(async () => (await depth()) === 3);
    const batch = await client.take(route.name, { ids: ['m-ok'] });
    const [result] = await batch.replay();
    batch.release();
    expect(result).toMatchObject({ status: 'replayed', answer: { ok: true } });
    const replayed = handled.find(({ text }) => text === 'again')!;
    expect(replayed.context).toMatchObject({ messageId: 'm-ok', idempotencyKey: 'key-ok' });
    // It kept its own deadline, which is still ahead, and none of the broker's history.
    expect(replayed.context.deadline).toBe(batch.letters[0]!.deadline);
    expect(Object.keys(replayed.context.headers).filter((name) => name.startsWith('x-death'))).toEqual([]);
    await eventually(async () => (await depth()) === 2);
    expect(ids((await takeAndRelease()).letters)).toEqual(['bad-1', 'm-late']);
  });

  it('keeps a dead letter whose deadline has passed, unless forced, then gives it a deadline of its own', async () => {
    await eventually(async () => (await depth()) === 2);
    const refused = await client.take(route.name, { ids: ['m-late'] });
    const [kept] = await refused.replay();
    refused.release();
    expect(kept).toMatchObject({ status: 'kept', reason: expect.stringContaining('--force replays it') });
    await eventually(async () => (await depth()) === 2);
    expect(handled.map(({ text }) => text)).not.toContain('late');

    const forced = await client.take(route.name, { ids: ['m-late'] });
    const before = Date.now();
    const [result] = await forced.replay({ force: true, timeoutMs: 5000 });
    forced.release();
    expect(result).toMatchObject({ status: 'replayed', answer: { ok: true } });
    const deadline = handled.find(({ text }) => text === 'late')!.context.deadline!;
    expect(deadline).toBeGreaterThanOrEqual(before + 5000);
    await eventually(async () => (await depth()) === 1);
  });

  it("reports the route's error answer to a replay that is still invalid, which the server dead-letters again", async () => {
    await eventually(async () => (await depth()) === 1);
    const batch = await client.take(route.name, { ids: ['bad-1'] });
    const [result] = await batch.replay();
    batch.release();
    expect(result).toMatchObject({ status: 'replayed', answer: { ok: false, code: 'invalid_argument' } });
    await eventually(async () => (await depth()) === 1);
    expect(ids((await takeAndRelease()).letters)).toEqual(['bad-1']);
  });

  it('leaves a dead letter where it was when its route has no queue to replay it onto', async () => {
    const ghost = `${queuePrefix}test.ghost.dead-letter`;
    await raw.channel.assertQueue(ghost, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    raw.channel.sendToQueue(ghost, Buffer.from('{"text":"nowhere"}'), { messageId: 'm-ghost' });
    await eventually(async () => (await depth(ghost)) === 1);

    const batch = await client.take('test.ghost');
    const [result] = await batch.replay();
    batch.release();
    expect(result).toMatchObject({ status: 'kept', reason: `no queue is bound for route ${queuePrefix}test.ghost` });
    await eventually(async () => (await depth(ghost)) === 1);
  });

  it('drops the chosen dead letters for good, and only those', async () => {
    raw.channel.sendToQueue(routeQueue, Buffer.from('not json'), { messageId: 'm-keep' });
    await eventually(async () => (await depth()) === 2);
    const batch = await client.take(route.name, { ids: ['bad-1'] });
    expect(batch.drop()).toBe(1);
    batch.release();
    await eventually(async () => (await depth()) === 1);
    expect(ids((await takeAndRelease()).letters)).toEqual(['m-keep']);
  });

  it('refuses a route that has no dead-letter queue, with a not_found error', async () => {
    const other = await DeadLetterClient.open({ url: AMQP_URL, connectionName: uniqueName('dlq-client'), queuePrefix });
    try {
      await expect(other.take('test.missing')).rejects.toMatchObject({
        code: 'not_found',
        message: `there is no queue ${queuePrefix}test.missing.dead-letter`,
      });
    } finally {
      await other.close();
    }
  });

  /** What the queue holds, put back at once, and waited for until the broker has it back. */
  async function takeAndRelease() {
    const batch = await client.take(route.name);
    batch.release();
    await eventually(async () => (await depth()) === batch.letters.length);
    return batch;
  }
});
