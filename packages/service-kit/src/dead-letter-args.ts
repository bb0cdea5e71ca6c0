import { parseArgs } from 'node:util';
import { DEFAULT_REPLAY_TIMEOUT_MS } from '@warren/rpc';

export const DEAD_LETTER_ACTIONS = ['list', 'show', 'replay', 'purge'] as const;
export type DeadLetterAction = (typeof DEAD_LETTER_ACTIONS)[number];

/** A dead-letter command, from `dlq <action> <route> [options]`, with every default applied. */
export interface DeadLetterArgs {
  action: DeadLetterAction;
  /** The route whose `<route>.dead-letter` queue is meant (the queue's own name is accepted too). */
  route: string;
  /** `--id`, repeatable: only the dead letters with one of these message ids or correlation ids (default: any). */
  ids: string[] | undefined;
  /** `--limit N`: at most N dead letters (default 100 for list, 1 for show, all of them for replay and purge). */
  limit: number | undefined;
  /** `--yes`: replay or purge without asking (default: asked on a terminal, refused without one). */
  yes: boolean;
  /** `--force`: replay dead letters whose deadline has passed too (default: they are kept, each with why). */
  force: boolean;
  /** `--timeout-ms N`: the deadline of a replay whose own has passed or that has none, from now (default 10000). */
  timeoutMs: number;
}

/** The command line is not one `parseDeadLetterArgs` understands; its message says why. */
export class UsageError extends Error {
  readonly code = 'usage';
}

export const DEAD_LETTER_USAGE = `usage: dlq <list|show|replay|purge> <route> [options]
  list     the dead letters of <route> (e.g. users.create): why and when each died, its ids, deadline and headers
  show     one dead letter in full: properties, every header, the body
  replay   put the chosen dead letters back on <route>'s queue, and print each one's answer
  purge    drop the chosen dead letters for good
options:
  --id <id>         only the dead letters with this message id or correlation id (repeatable)
  --limit <n>       at most n of them (default: 100 for list, 1 for show, all for replay and purge)
  --yes             replay or purge without the confirmation question (which needs a terminal)
  --force           replay dead letters whose deadline has passed too
  --timeout-ms <n>  deadline of a forced replay, and of one without a deadline, from now (default ${DEFAULT_REPLAY_TIMEOUT_MS})`;

const DEFAULT_LIMITS: Record<DeadLetterAction, number | undefined> = {
  list: 100,
  show: 1,
  replay: undefined,
  purge: undefined,
};

/** Parses a dead-letter command line (without `node dlq.js`), or throws a UsageError. */
export function parseDeadLetterArgs(argv: readonly string[]): DeadLetterArgs {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const [action, route, ...extra] = parsed.positionals;
  if (!(DEAD_LETTER_ACTIONS as readonly (string | undefined)[]).includes(action)) {
    throw new UsageError(action ? `unknown action ${action}` : 'no action given');
  }
  if (!route) throw new UsageError(`${action} needs a route, e.g. users.create`);
  if (!/^[\w.-]+$/.test(route)) throw new UsageError(`${route} is not a route name`);
  if (extra.length > 0) throw new UsageError(`unexpected ${extra.join(' ')}`);
  const { values } = parsed;
  return {
    action: action as DeadLetterAction,
    route: route.replace(/\.dead-letter$/, ''),
    ids: values.id,
    limit: values.limit === undefined ? DEFAULT_LIMITS[action as DeadLetterAction] : positive('--limit', values.limit),
    yes: values.yes ?? false,
    force: values.force ?? false,
    timeoutMs:
      values['timeout-ms'] === undefined ? DEFAULT_REPLAY_TIMEOUT_MS : positive('--timeout-ms', values['timeout-ms']),
  };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      id: { type: 'string', multiple: true },
      limit: { type: 'string' },
      yes: { type: 'boolean' },
      force: { type: 'boolean' },
      'timeout-ms': { type: 'string' },
    },
  });
}

function positive(option: string, value: string): number {
  const number = Number(value);
  if (!Number.isSafeInteger(number) || number < 1) throw new UsageError(`${option} must be a positive integer`);
  return number;
}
