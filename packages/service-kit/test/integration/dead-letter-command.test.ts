import { DEADLINE_HEADER, defineRoute, RpcServer } from '@warren/rpc';
import { z } from 'zod';
import { deadLetterCommand, parseDeadLetterArgs, type DeadLetterCommandIo } from '../../src';
import { AMQP_URL, eventually, rawChannel, uniqueName } from '../../../rpc/test/broker';

jest.setTimeout(30_000);

/** The dlq command as an operator runs it, against the real broker and a real RpcServer. */
describe('deadLetterCommand', () => {
  const queuePrefix = `${uniqueName('dlqcmd')}.`;
  const route = defineRoute('test.greet', {
    request: z.strictObject({ name: z.string() }),
    reply: z.object({ greeting: z.string() }),
  });
  const routeQueue = `${queuePrefix}${route.name}`;
  const deadLetterQueue = `${routeQueue}.dead-letter`;
  const greeted: string[] = [];
  const server = new RpcServer({ url: AMQP_URL, connectionName: uniqueName('dlqcmd-server'), queuePrefix });
  server.handle(route, ({ name }) => {
    greeted.push(name);
    return { greeting: `hello ${name}` };
  });
  let raw: Awaited<ReturnType<typeof rawChannel>>;

  const depth = async () => (await raw.channel.checkQueue(deadLetterQueue)).messageCount;

  /** Runs `dlq <argv>` and returns its exit code and printed lines; `answer` is the operator's, at a terminal. */
  async function dlq(argv: string[], answer?: 'yes' | 'no') {
    const lines: string[] = [];
    const questions: string[] = [];
    const io: DeadLetterCommandIo = {
      print: (line) => lines.push(line),
      confirm: answer
        ? async (question) => {
            questions.push(question);
            return answer === 'yes';
          }
        : undefined,
    };
    const target = { amqpUrl: AMQP_URL, connectionName: uniqueName('dlqcmd'), queuePrefix };
    const code = await deadLetterCommand(parseDeadLetterArgs(argv), target, io);
    return { code, lines, questions };
  }

  beforeAll(async () => {
    await server.start();
    raw = await rawChannel();
    raw.channel.sendToQueue(routeQueue, Buffer.from('{"name":"Ada"}'), {
      messageId: 'm-ada',
      headers: { [DEADLINE_HEADER]: Date.now() - 60_000 },
    }); // no reply_to: dead-lettered, and its deadline has passed
    raw.channel.sendToQueue(routeQueue, Buffer.from('{{{'), { correlationId: 'c-junk' }); // no reply_to, no JSON
    await eventually(async () => (await depth()) === 2);
  });
  afterAll(async () => {
    await server.close();
    await raw.channel.deleteQueue(routeQueue);
    await raw.channel.deleteQueue(deadLetterQueue);
    await raw.connection.close();
  });

  it('lists every dead letter with its death reason, ids, deadline and headers, and leaves them there', async () => {
    const { code, lines } = await dlq(['list', route.name]);
    expect(code).toBe(0);
    expect(lines).toEqual([
      `${deadLetterQueue}: 2 messages`,
      expect.stringMatching(
        new RegExp(
          `^#1 rejected from ${routeQueue.replaceAll('.', '\\.')} at \\S+Z; correlation-id -, message-id m-ada; ` +
            'deadline \\S+Z \\(passed\\); 14 bytes$',
        ),
      ),
      expect.stringMatching(/^ {3}headers \{"x-deadline":\d+\}$/),
      expect.stringMatching(/^#2 rejected from .+; correlation-id c-junk, message-id -; no deadline; 3 bytes$/),
      '   headers {}',
    ]);
    await eventually(async () => (await depth()) === 2);
  });

  it('shows one in full, chosen by id, and says so when nothing matches', async () => {
    await eventually(async () => (await depth()) === 2);
    const { code, lines } = await dlq(['show', `${route.name}.dead-letter`, '--id', 'c-junk']);
    expect(code).toBe(0);
    expect(lines[0]).toBe(`${deadLetterQueue}: 2 messages, 1 of them chosen`);
    expect(lines[1]).toMatch(/^#2 rejected/);
    expect(lines[2]).toBe('   properties {"correlationId":"c-junk"}');
    expect(lines[3]).toMatch(
      /^ {3}headers \{"x-death":\[\{"count":1,"reason":"rejected","queue":"[^"]+","time":"\S+Z"/,
    );
    expect(lines[4]).toBe('   body {{{');

    await eventually(async () => (await depth()) === 2);
    expect(await dlq(['show', route.name, '--id', 'nobody'])).toMatchObject({
      code: 1,
      lines: [`${deadLetterQueue}: 2 messages, 0 of them chosen`],
    });
  });

  it('replays nothing without a yes: not on a "no", and not without a terminal unless --yes', async () => {
    await eventually(async () => (await depth()) === 2);
    const declined = await dlq(['replay', route.name, '--id', 'm-ada', '--force'], 'no');
    expect(declined.code).toBe(1);
    expect(declined.questions).toEqual([`Replay 1 dead letter of ${deadLetterQueue} onto ${route.name}?`]);
    expect(declined.lines.at(-1)).toBe('nothing replayed');

    await eventually(async () => (await depth()) === 2);
    const unattended = await dlq(['purge', route.name]);
    expect(unattended.code).toBe(1);
    expect(unattended.lines.slice(-2)).toEqual([
      'not asked: no terminal to ask on (--yes to purge without asking)',
      'nothing purged',
    ]);
    await eventually(async () => (await depth()) === 2);
    expect(greeted).toEqual([]);
  });

  it('keeps an expired dead letter unless forced, then replays it and prints the answer', async () => {
    await eventually(async () => (await depth()) === 2);
    const kept = await dlq(['replay', route.name, '--id', 'm-ada'], 'yes');
    expect(kept.code).toBe(1);
    expect(kept.lines.slice(-2)).toEqual([
      expect.stringMatching(/^#1 kept: its deadline passed at \S+Z \(--force replays it\)$/),
      `replayed 0 of 1 onto ${route.name}`,
    ]);

    await eventually(async () => (await depth()) === 2);
    const forced = await dlq(['replay', route.name, '--id', 'm-ada', '--force', '--yes']);
    expect(forced.code).toBe(0);
    expect(forced.lines.slice(-2)).toEqual(['#1 replayed; answered ok', `replayed 1 of 1 onto ${route.name}`]);
    expect(greeted).toEqual(['Ada']);
    await eventually(async () => (await depth()) === 1);
  });

  it('purges what it listed, after the yes', async () => {
    await eventually(async () => (await depth()) === 1);
    const purged = await dlq(['purge', route.name], 'yes');
    expect(purged.code).toBe(0);
    expect(purged.questions).toEqual([`Drop 1 dead letter of ${deadLetterQueue} for good?`]);
    expect(purged.lines.at(-1)).toBe(`purged 1 from ${deadLetterQueue}`);
    await eventually(async () => (await depth()) === 0);
    expect(await dlq(['list', route.name])).toMatchObject({ code: 0, lines: [`${deadLetterQueue}: 0 messages`] });
  });
});
