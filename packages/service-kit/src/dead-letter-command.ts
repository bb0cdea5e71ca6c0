import { hostname } from 'node:os';
import { createInterface } from 'node:readline/promises';
import { DeadLetterClient, type DeadLetterBatch } from '@warren/rpc';
import { DEAD_LETTER_USAGE, parseDeadLetterArgs, UsageError, type DeadLetterArgs } from './dead-letter-args';
import { detailLines, headingLine, replayLine, summaryLines } from './dead-letter-report';
import type { WorkerDefinition } from './worker';
import type { WorkerConfig } from './worker-config';

/** Where a dead-letter command finds the broker. */
export interface DeadLetterTarget {
  amqpUrl: string;
  connectionName: string;
  /** Put before every route's queue name (default none), as the servers that serve them do: tests use it. */
  queuePrefix?: string;
}

/** The operator's side of a command. */
export interface DeadLetterCommandIo {
  /** Writes one line of the report (standard output). */
  print(line: string): void;
  /** Asks a yes/no question on the terminal, true only for "yes"; undefined without a terminal (then --yes is needed). */
  confirm: ((question: string) => Promise<boolean>) | undefined;
}

/**
 * Runs one `dlq` command against the broker; resolves with its exit code: 0 done, 1 refused or incomplete (not
 * confirmed, nothing matched `show`, a replay kept). Whatever it took and did not settle goes back to the queue, in
 * its order, before it returns.
 */
export async function deadLetterCommand(
  args: DeadLetterArgs,
  target: DeadLetterTarget,
  io: DeadLetterCommandIo,
): Promise<number> {
  const client = await DeadLetterClient.open({
    url: target.amqpUrl,
    connectionName: target.connectionName,
    queuePrefix: target.queuePrefix,
  });
  try {
    const batch = await client.take(args.route, { limit: args.limit, ids: args.ids });
    try {
      io.print(headingLine(client.deadLetterQueueOf(args.route), batch.waiting, batch.letters.length, !!args.ids));
      return await act(args, batch, client.deadLetterQueueOf(args.route), io);
    } finally {
      batch.release();
    }
  } finally {
    await client.close();
  }
}

async function act(args: DeadLetterArgs, batch: DeadLetterBatch, queue: string, io: DeadLetterCommandIo) {
  const now = Date.now();
  if (args.action === 'show') {
    for (const letter of batch.letters) for (const line of detailLines(letter, now)) io.print(line);
    return batch.letters.length > 0 ? 0 : 1;
  }
  for (const letter of batch.letters) for (const line of summaryLines(letter, now)) io.print(line);
  if (args.action === 'list' || batch.letters.length === 0) return 0;

  const count = `${batch.letters.length} dead letter${batch.letters.length === 1 ? '' : 's'}`;
  const question =
    args.action === 'replay'
      ? `Replay ${count} of ${queue} onto ${batch.route}?`
      : `Drop ${count} of ${queue} for good?`;
  if (!(await confirmed(args, question, io))) {
    io.print(`nothing ${args.action === 'replay' ? 'replayed' : 'purged'}`);
    return 1;
  }
  if (args.action === 'purge') {
    io.print(`purged ${batch.drop()} from ${queue}`);
    return 0;
  }
  const results = await batch.replay({ force: args.force, timeoutMs: args.timeoutMs });
  for (const result of results) io.print(replayLine(result));
  const replayed = results.filter((result) => result.status === 'replayed').length;
  io.print(`replayed ${replayed} of ${results.length} onto ${batch.route}`);
  return replayed === results.length ? 0 : 1;
}

async function confirmed(args: DeadLetterArgs, question: string, io: DeadLetterCommandIo): Promise<boolean> {
  if (args.yes) return true;
  if (!io.confirm) {
    io.print(`not asked: no terminal to ask on (--yes to ${args.action} without asking)`);
    return false;
  }
  return io.confirm(question);
}

/**
 * `node dist/dlq.js <list|show|replay|purge> <route> [options]` in a worker's image (`npm run dlq --` from a
 * checkout): the worker's configuration gives the broker (AMQP_URL). Exits with the command's code, 2 for a command
 * line it does not understand (with the usage), 1 when it fails.
 */
export function runDeadLetterCommand<Config extends WorkerConfig>(
  definition: Pick<WorkerDefinition<Config>, 'service' | 'loadConfig'>,
  argv: readonly string[] = process.argv.slice(2),
): void {
  const run = async () => {
    const args = parseDeadLetterArgs(argv);
    const config = definition.loadConfig();
    const connectionName = `${definition.service}-dlq-${hostname()}-${process.pid}`;
    return deadLetterCommand(args, { amqpUrl: config.amqpUrl, connectionName }, terminalIo());
  };
  run().then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      if (error instanceof UsageError) process.stderr.write(`${DEAD_LETTER_USAGE}\n`);
      process.exit(error instanceof UsageError ? 2 : 1);
    },
  );
}

function terminalIo(): DeadLetterCommandIo {
  return {
    print: (line) => process.stdout.write(`${line}\n`),
    confirm: process.stdin.isTTY
      ? async (question) => {
          const terminal = createInterface({ input: process.stdin, output: process.stderr });
          try {
            return (await terminal.question(`${question} Type yes to go on: `)).trim() === 'yes';
          } finally {
            terminal.close();
          }
        }
      : undefined,
  };
}
