import { DEADLINE_HEADER, RpcServer } from '../../src';
import { AMQP_URL, eventually, rawChannel } from '../broker';
import { metricValue, startEchoPair } from '../fixture';

jest.setTimeout(30_000);

describe('RpcServer with messages it cannot or should not process', () => {
  let pair: Awaited<ReturnType<typeof startEchoPair>>;
  let raw: Awaited<ReturnType<typeof rawChannel>>;

  beforeAll(async () => {
    pair = await startEchoPair();
    raw = await rawChannel();
    // Direct reply-to needs a consumer on the publishing channel; the replies themselves are not looked at.
    await raw.channel.consume('amq.rabbitmq.reply-to', () => undefined, { noAck: true });
  });
  afterEach(() => {
    expect(pair.client.pendingCount).toBe(0);
  });
  afterAll(async () => {
    await raw.connection.close();
    await pair.stop();
  });

  const deadLetterQueue = () => `${pair.route.name}.dead-letter`;

  async function takeDeadLetter(): Promise<Buffer> {
    let content: Buffer | undefined;
    await eventually(async () => {
      const message = await raw.channel.get(deadLetterQueue(), { noAck: true });
      if (message) content = message.content;
      return message !== false;
    });
    return content!;
  }

  it.each([
    [
      'not JSON at all',
      Buffer.from('{{{ not json'),
      'undecodable',
      { replyTo: 'amq.rabbitmq.reply-to', correlationId: 'c1' },
    ],
    [
      'JSON that fails the schema',
      Buffer.from('{"text":{"$ne":1}}'),
      'invalid_payload',
      { replyTo: 'amq.rabbitmq.reply-to', correlationId: 'c2' },
    ],
    ['no reply_to and no correlation_id', Buffer.from('{"text":"orphan"}'), 'missing_reply_to', {}],
  ])('dead-letters %s with one log line and keeps serving', async (_case, body, reason, properties) => {
    const linesBefore = pair.logger.lines.length;
    raw.channel.sendToQueue(pair.route.name, body, properties);

    expect(await takeDeadLetter()).toEqual(body);
    const newLines = pair.logger.lines
      .slice(linesBefore)
      .filter((line) => line.message === 'rpc message dead-lettered');
    expect(newLines).toHaveLength(1);
    expect(newLines[0]!.object).toMatchObject({ route: pair.route.name, reason });
    expect(await metricValue(pair.registry, 'rpc_server_dead_lettered_total', { route: pair.route.name, reason })).toBe(
      1,
    );
    await expect(pair.client.call(pair.route, { text: 'still serving' })).resolves.toMatchObject({
      text: 'still serving',
    });
  });

  it('acks and counts a message whose deadline has passed, without running the handler', async () => {
    const handledBefore = pair.handled.length;
    raw.channel.sendToQueue(pair.route.name, Buffer.from('{"text":"too late"}'), {
      replyTo: 'amq.rabbitmq.reply-to',
      correlationId: 'expired-1',
      headers: { [DEADLINE_HEADER]: Date.now() - 1000 },
    });
    await eventually(
      async () => (await metricValue(pair.registry, 'rpc_server_expired_total', { route: pair.route.name })) === 1,
    );
    expect(pair.handled.slice(handledBefore)).not.toContain('too late');
    const queue = await raw.channel.checkQueue(pair.route.name);
    expect(queue.messageCount).toBe(0);
  });
});

describe('the deadline travels with the message', () => {
  it('lets the broker drop a request nobody waits for any more (AMQP expiration)', async () => {
    // The queue exists but its server is not consuming: the call times out and the broker expires the message.
    const pair = await startEchoPair({ withServer: false });
    const raw = await rawChannel();
    try {
      const declarer = new RpcServer({ url: AMQP_URL, connectionName: 'declare-only' });
      declarer.handle(pair.route, () => ({ text: '', pid: 0 }));
      await declarer.start();
      await declarer.close();

      await expect(pair.client.call(pair.route, { text: 'nobody home' }, { timeoutMs: 200 })).rejects.toMatchObject({
        code: 'deadline_exceeded',
      });
      await eventually(async () => (await raw.channel.checkQueue(pair.route.name)).messageCount === 0, 5000);
      expect(pair.client.pendingCount).toBe(0);
    } finally {
      await raw.connection.close();
      await pair.stop();
    }
  });
});
