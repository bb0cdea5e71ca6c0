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
import { runBenchmarkProgram } from './core/program';
import { serveRole } from './core/roles';
import { USAGE, parseCommandLine } from './rpc-bench/config';
import { runGenerator } from './rpc-bench/generator';
import { echoServerRole } from './rpc-bench/server-role';

runBenchmarkProgram({
  name: 'rpc-bench',
  usage: USAGE,
  parse: parseCommandLine,
  async run(parsed) {
    if (parsed.role === 'server') serveRole(echoServerRole());
    else await runGenerator(parsed.config, __filename);
  },
});
