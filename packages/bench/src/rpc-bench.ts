/**
 * Benchmark program (not a test): echo round trips through @warren/rpc,
 * against a floor of bare amqplib doing the same round trip over the same
 * kind of queue, at concurrency 1, 16 and 64. It prints a table, the spec's
 * targets with met / not met, and with --json one machine-readable line.
 *
 *   npm run bench:rpc -- [--seconds N] [--rounds N] [--warmup-seconds N] [--json]
 *
 * The same file runs as two processes: the generator (default role), which
 * makes the calls and reports, and the echo-server process it forks with
 * --role=server, so the servers never share an event loop with the callers.
 * Exit status: 0 whether or not targets are met, 1 on a failure (a call
 * erred, the broker is unreachable), 2 on a bad command line.
 */
import { HelpRequested, USAGE, UsageError, parseConfig, type BenchConfig } from './rpc-bench/config';
import { runGenerator } from './rpc-bench/generator';
import { runServerRole } from './rpc-bench/server-role';

async function main(): Promise<number> {
  let config: BenchConfig;
  try {
    config = parseConfig(process.argv.slice(2), process.env);
  } catch (error) {
    if (error instanceof HelpRequested) {
      console.log(USAGE);
      return 0;
    }
    if (!(error instanceof UsageError)) throw error;
    console.error(`rpc-bench: ${error.message}\n${USAGE}`);
    return 2;
  }
  if (config.role === 'server') await runServerRole(config.amqpUrl, config.queues);
  else await runGenerator(config, __filename);
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`rpc-bench failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);
