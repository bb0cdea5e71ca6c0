import { loopbackUrl, measurementSettings, parseFlags, roleOf, type MeasurementSettings } from '../core/command-line';

/** The process a person starts: it forks the echo servers, makes the calls and reports. */
export const MAIN_ROLE = 'generator';
/** The forked process hosting both echo servers; see server-role.ts. */
export const SERVER_ROLE = 'server';

export interface RpcBenchConfig extends MeasurementSettings {
  amqpUrl: string;
  /** `host:port` of the broker, for messages: the URL itself carries a password. */
  brokerAddress: string;
  concurrencies: readonly number[];
}

export type ParsedCommandLine = { role: typeof SERVER_ROLE } | { role: typeof MAIN_ROLE; config: RpcBenchConfig };

const DEFAULT_AMQP_URL = 'amqp://warren:warren@127.0.0.1:5672';

export const USAGE = `usage: node packages/bench/dist/rpc-bench.js [--seconds N] [--rounds N] [--warmup-seconds N] [--json]
  --seconds N         measurement window of each cell (default 5)
  --rounds N          measure every cell N times and report the median (default 1)
  --warmup-seconds N  calls made and discarded before each window (default 1)
  --json              also print one final line with every figure as JSON
Environment: AMQP_URL (default ${DEFAULT_AMQP_URL}); the broker must be on loopback.`;

/** Parses argv and the environment once; throws with a readable message on anything invalid. */
export function parseCommandLine(argv: readonly string[], env: NodeJS.ProcessEnv): ParsedCommandLine {
  const values = parseFlags(argv, {});
  const role = roleOf(values.role, MAIN_ROLE, [SERVER_ROLE]);
  // The server role is told everything else by the generator when it starts.
  if (role === SERVER_ROLE) return { role };
  const amqpUrl = env.AMQP_URL ?? DEFAULT_AMQP_URL;
  // The figures and the targets are about loopback round trips.
  const broker = loopbackUrl('AMQP_URL', amqpUrl);
  return {
    role,
    config: {
      ...measurementSettings(values),
      amqpUrl,
      brokerAddress: `${broker.hostname}:${broker.port || '5672'}`,
      concurrencies: [1, 16, 64],
    },
  };
}
