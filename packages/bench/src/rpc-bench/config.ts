import { parseArgs } from 'node:util';
import { HelpRequested, UsageError, positiveNumber, nonNegativeNumber, positiveInteger } from '../command-line';

/** Which half of the benchmark this process plays; see rpc-bench.ts. */
export type Role = 'generator' | 'server';

/** The queues of one run: each echo server consumes its own. */
export interface BenchQueues {
  /** The RpcServer route; its name is also its queue's. */
  warren: string;
  /** The bare amqplib echo consumer's queue. */
  floor: string;
}

interface CommonConfig {
  amqpUrl: string;
  /** `host:port` of the broker, for messages: the URL itself carries a password. */
  brokerAddress: string;
  seconds: number;
  warmupSeconds: number;
  rounds: number;
  concurrencies: readonly number[];
  json: boolean;
}

export type BenchConfig =
  | (CommonConfig & { role: 'generator' })
  // The generator names the queues, so it can delete them whatever happens to the server process.
  | (CommonConfig & { role: 'server'; queues: BenchQueues });

const DEFAULT_AMQP_URL = 'amqp://warren:warren@127.0.0.1:5672';
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

export const USAGE = `usage: node packages/bench/dist/rpc-bench.js [--seconds N] [--rounds N] [--warmup-seconds N] [--json]
  --seconds N         measurement window of each cell (default 5)
  --rounds N          measure every cell N times and report the median (default 1)
  --warmup-seconds N  calls made and discarded before each window (default 1)
  --json              also print one final line with every figure as JSON
Environment: AMQP_URL (default ${DEFAULT_AMQP_URL}); the broker must be on loopback.`;

/** Parses argv and the environment once; throws with a readable message on anything invalid. */
export function parseConfig(argv: readonly string[], env: NodeJS.ProcessEnv): BenchConfig {
  const { values } = parseCommandLine(argv);
  if (values.help) throw new HelpRequested('');
  const role = parseRole(values.role);
  const amqpUrl = env.AMQP_URL ?? DEFAULT_AMQP_URL;
  const common: CommonConfig = {
    amqpUrl,
    brokerAddress: loopbackBrokerAddress(amqpUrl),
    seconds: positiveNumber('--seconds', values.seconds),
    warmupSeconds: nonNegativeNumber('--warmup-seconds', values['warmup-seconds']),
    rounds: positiveInteger('--rounds', values.rounds),
    concurrencies: [1, 16, 64],
    json: values.json,
  };
  if (role === 'generator') return { ...common, role };
  return { ...common, role, queues: serverQueues(values['warren-queue'], values['floor-queue']) };
}

function parseCommandLine(argv: readonly string[]) {
  try {
    return parseArgs({
      args: [...argv],
      strict: true,
      options: {
        role: { type: 'string', default: 'generator' },
        seconds: { type: 'string', default: '5' },
        'warmup-seconds': { type: 'string', default: '1' },
        rounds: { type: 'string', default: '1' },
        json: { type: 'boolean', default: false },
        'warren-queue': { type: 'string' },
        'floor-queue': { type: 'string' },
        help: { type: 'boolean', default: false },
      },
    });
  } catch (error) {
    // parseArgs throws a TypeError for unknown or malformed flags.
    throw new UsageError((error as Error).message);
  }
}

function parseRole(value: string): Role {
  if (value === 'generator' || value === 'server') return value;
  throw new UsageError(`--role must be generator or server, not ${value}`);
}

// The figures and the targets are about loopback round trips, and the
// benchmark must not send traffic anywhere else.
function loopbackBrokerAddress(amqpUrl: string): string {
  let url: URL;
  try {
    url = new URL(amqpUrl);
  } catch {
    throw new UsageError('AMQP_URL is not a URL');
  }
  if (!LOOPBACK_HOSTS.has(url.hostname)) throw new UsageError(`AMQP_URL must point at loopback, not ${url.hostname}`);
  return `${url.hostname}:${url.port || '5672'}`;
}

function serverQueues(warren: string | undefined, floor: string | undefined): BenchQueues {
  if (!warren || !floor) throw new UsageError('--role=server needs --warren-queue and --floor-queue');
  return { warren, floor };
}

export { HelpRequested, UsageError };
