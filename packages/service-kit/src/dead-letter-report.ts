import { BROKER_HEADERS, type DeadLetter, type ReplayResult } from '@warren/rpc';

/** What `dlq` prints: plain lines, one fact each, so that an operator can read them and a script can grep them. */

/** `users.create.dead-letter: 3 messages` and, when fewer are shown, how many and how to see the rest. */
export function headingLine(queue: string, waiting: number, shown: number, selective: boolean): string {
  const count = `${waiting} message${waiting === 1 ? '' : 's'}`;
  if (shown === waiting && !selective) return `${queue}: ${count}`;
  return `${queue}: ${count}, ${shown} of them ${selective ? 'chosen' : 'shown (--limit for more)'}`;
}

/** One dead letter: why and when it died, its ids, its deadline, its size, then its own (not the broker's) headers. */
export function summaryLines(letter: DeadLetter, now: number): string[] {
  const death = letter.death
    ? `${letter.death.reason} from ${letter.death.queue} at ${iso(letter.death.time)}` +
      (letter.death.count > 1 ? ` (${letter.death.count} times)` : '')
    : 'no x-death (not dead-lettered by the broker)';
  const ids = `correlation-id ${letter.correlationId ?? '-'}, message-id ${letter.messageId ?? '-'}`;
  const own = Object.fromEntries(
    Object.entries(letter.headers).filter(([name]) => !(BROKER_HEADERS as readonly string[]).includes(name)),
  );
  return [
    `#${letter.position} ${death}; ${ids}; ${deadlineText(letter.deadline, now)}; ${letter.content.length} bytes`,
    `   headers ${json(own)}`,
  ];
}

/** One dead letter in full: its summary, every AMQP property and header, and the body. */
export function detailLines(letter: DeadLetter, now: number): string[] {
  const { headers, ...properties } = letter.properties;
  const set = Object.fromEntries(Object.entries(properties).filter(([, value]) => value !== undefined));
  return [
    summaryLines(letter, now)[0]!,
    `   properties ${json(set)}`,
    `   headers ${json(headers ?? {})}`,
    `   body ${bodyText(letter.content)}`,
  ];
}

/** What became of one replay: kept (and why), or replayed and what the route answered. */
export function replayLine(result: ReplayResult): string {
  const where = `#${result.letter.position}`;
  if (result.status === 'kept') return `${where} kept: ${result.reason}`;
  if (!result.answer) return `${where} replayed; no answer by its deadline`;
  if (result.answer.ok) return `${where} replayed; answered ok`;
  return `${where} replayed; answered ${result.answer.code}: ${result.answer.message}`;
}

function deadlineText(deadline: number | undefined, now: number): string {
  if (deadline === undefined) return 'no deadline';
  return `deadline ${iso(deadline)} (${deadline <= now ? 'passed' : 'ahead'})`;
}

function iso(epochMs: number | undefined): string {
  return epochMs === undefined ? 'an unknown time' : new Date(epochMs).toISOString();
}

/** The body as text when it is UTF-8, else as base64 (marked so). */
export function bodyText(content: Buffer): string {
  const text = content.toString('utf8');
  return Buffer.from(text, 'utf8').equals(content) ? text : `base64:${content.toString('base64')}`;
}

// Header values as amqplib decodes them: a byte string is a Buffer, an AMQP timestamp { '!': 'timestamp', value }.
function json(value: unknown): string {
  return JSON.stringify(value, function (this: unknown, key, item: unknown) {
    const raw = (this as Record<string, unknown>)[key];
    if (Buffer.isBuffer(raw)) return bodyText(raw);
    if (isTimestamp(item)) return new Date(item.value * 1000).toISOString();
    return item;
  });
}

function isTimestamp(value: unknown): value is { '!': 'timestamp'; value: number } {
  return typeof value === 'object' && value !== null && (value as { '!'?: unknown })['!'] === 'timestamp';
}
