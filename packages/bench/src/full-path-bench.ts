/**
 * Benchmark program (not a test): the whole request/reply path — HTTP
 * gateway, RPC over RabbitMQ, users worker (and for POST /v1/orders the
 * orders worker, which asks the users worker over RPC), PostgreSQL — against
 * a floor on the same machine, broker and database (node:http + bare amqplib
 * + pg), at concurrency 1, 16 and 64; or, with --soak, the gateway's memory
 * under a constant load; or, with --stress, overload and load shedding. It
 * prints tables (with --markdown, the default run's as GitHub markdown), the
 * targets with met / not met, and with --json one last JSON line.
 *
 *   npm run bench -- [--seconds N] [--rounds N] [--routes LIST] [--json] [--markdown] [--soak | --stress] [--help]
 *
 * The same file runs as several processes: the orchestrator (default role),
 * which starts everything and reports, and the load generator and the three
 * floor processes it forks (--role=...), so none shares an event loop with
 * another. Exit status: 0 whether or not targets are met, 1 on a failure, 2
 * on a bad command line.
 */
import { progressTo, runBenchmarkProgram } from './core/program';
import { jsonLine } from './core/report';
import { serveRole, type RoleHandlers } from './core/roles';
import { comparisonRows, comparisonSlicing, runComparison } from './full-path/compare';
import { USAGE, parseCommandLine, type ChildRole, type FullPathConfig } from './full-path/config';
import { withEnvironment } from './full-path/environment';
import { floorHttpRole, floorOrdersWorkerRole, floorWorkerRole } from './full-path/floor';
import { generatorRole } from './full-path/generator';
import { evaluateComparison, formatComparison } from './full-path/report';
import { formatSoak, runSoak } from './full-path/soak';
import { formatStress, runStress } from './full-path/stress';

const ROLES: Record<ChildRole, () => RoleHandlers> = {
  generator: generatorRole,
  'floor-http': floorHttpRole,
  'floor-worker': floorWorkerRole,
  'floor-orders-worker': floorOrdersWorkerRole,
};

const progress = progressTo('full-path-bench');

/** The settings for the JSON line, without the connection URLs (they carry credentials). */
function publicSettings(config: FullPathConfig) {
  const {
    amqpUrl: _amqp,
    managementUrl: _management,
    databaseUrl: _database,
    ordersDatabaseUrl: _ordersDatabase,
    redisUrl: _redis,
    ...settings
  } = config;
  return { ...settings, node: process.version };
}

async function orchestrate(config: FullPathConfig): Promise<void> {
  await withEnvironment(config, __filename, progress, async (environment) => {
    const settings = publicSettings(config);
    if (config.mode === 'soak') {
      const report = await runSoak(config, environment, progress);
      console.log(formatSoak(config, report, environment.tracingNote));
      if (config.json) console.log(jsonLine('full-path-soak', { settings, report }));
      return;
    }
    if (config.mode === 'stress') {
      const report = await runStress(config, environment, progress);
      console.log(formatStress(report, environment.tracingNote));
      if (config.json) console.log(jsonLine('full-path-stress', { settings, report }));
      return;
    }
    const measurements = await runComparison(config, environment, progress);
    const rows = comparisonRows(measurements, config);
    const targets = evaluateComparison(rows);
    const context = {
      tracingNote: environment.tracingNote,
      sliceSeconds: comparisonSlicing(config.seconds).sliceSeconds,
      brokerNote: environment.serversNote,
    };
    console.log(formatComparison(config, context, rows, targets));
    if (config.json) console.log(jsonLine('full-path', { settings, context, rows, measurements, targets }));
  });
}

runBenchmarkProgram({
  name: 'full-path-bench',
  usage: USAGE,
  parse: parseCommandLine,
  async run(parsed) {
    if (parsed.role !== 'orchestrator') {
      serveRole(ROLES[parsed.role]());
      return;
    }
    await orchestrate(parsed.config);
    // Nothing of the run may keep the process alive.
    process.exit(0);
  },
});
