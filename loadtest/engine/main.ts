/**
 * The Node engine: runs loadtest/data/scenarios.json's scenarios with the flows of loadtest/lib, as k6 would run
 * loadtest/k6/warren.ts, where k6 is not installed (`npm run loadtest -- --profile smoke --base-url URL`; flags in
 * config.ts). Prints a k6-like summary, writes the JSON one, and exits as k6 does: 0, 99 when a threshold failed
 * (at the end, or early through abortOnFail), 104 for an invalid configuration, 107 when the run itself failed.
 */
import { writeFileSync } from 'node:fs';
import { DurationSyntaxError, parseDuration } from '../lib/duration.ts';
import { LoadSettingsError } from '../lib/profiles.ts';
import { failedThresholds, textSummary } from '../lib/summary.ts';
import { ThresholdSyntaxError } from '../lib/thresholds.ts';
import { parseEngineConfig } from './config.ts';
import { HttpSender } from './http-sender.ts';
import { buildSummary, prepareThresholds, ThresholdConfigError } from './report.ts';
import { watchAbortOnFail } from './abort-on-fail.ts';
import { ProfileRunner } from './runner.ts';

export const EXIT_THRESHOLDS_FAILED = 99;
export const EXIT_INVALID_CONFIG = 104;
export const EXIT_RUN_FAILED = 107;

async function main(argv: readonly string[]): Promise<number> {
  const config = parseEngineConfig(argv);
  const profile = config.selected;
  const { parsed, registry } = prepareThresholds(profile.thresholds, parseDuration);
  const maxConnections = Object.values(profile.scenarios).reduce((sum, scenario) => sum + scenario.maxVUs, 0);
  const sender = new HttpSender(config.baseUrl, maxConnections, registry, config.token);
  const runner = new ProfileRunner(config.data, sender, registry, config.runId);
  process.stdout.write(
    `[loadtest] Node engine, profile ${config.profile} (${profile.description}) against ${config.baseUrl}, scenarios ${Object.keys(profile.scenarios).join(', ')}\n`,
  );

  const startedAt = performance.now();
  const abortWatch = watchAbortOnFail(
    registry,
    parsed,
    () => buildSummary(registry, parsed, runner.checks, performance.now() - startedAt),
    startedAt,
    (failed) => {
      process.stdout.write(`[loadtest] aborting: threshold with abortOnFail failed: ${failed}\n`);
      runner.abort();
    },
  );
  const outcome = await runner.run(profile).finally(() => clearInterval(abortWatch));
  sender.close();

  const summary = buildSummary(registry, parsed, runner.checks, outcome.durationMs);
  process.stdout.write(textSummary(summary, `Node engine, profile ${config.profile}`));
  process.stdout.write(`\n  SCENARIOS (iterations: offered = due on the schedule, achieved = completed)\n`);
  for (const scenario of outcome.scenarios) {
    const rate = (count: number) => (count / Math.max(scenario.seconds, 1e-9)).toFixed(2);
    process.stdout.write(
      `    ${scenario.name}: offered ${scenario.offered} (${rate(scenario.offered)}/s), started ${scenario.started}, dropped ${scenario.dropped}, completed ${scenario.completed} (${rate(scenario.completed)}/s), interrupted ${scenario.interrupted}\n`,
    );
  }
  if (runner.iterationErrors > 0)
    process.stdout.write(`  ${runner.iterationErrors} iteration(s) failed with an exception\n`);
  writeFileSync(config.summaryJsonPath, `${JSON.stringify(summary, null, 2)}\n`);
  process.stdout.write(`  JSON summary: ${config.summaryJsonPath}\n`);
  return failedThresholds(summary).length > 0 || outcome.aborted ? EXIT_THRESHOLDS_FAILED : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const invalid =
      error instanceof LoadSettingsError ||
      error instanceof ThresholdConfigError ||
      error instanceof ThresholdSyntaxError ||
      error instanceof DurationSyntaxError;
    process.stderr.write(
      `[loadtest] ${invalid ? 'invalid configuration' : 'run failed'}: ${(error as Error).message}\n`,
    );
    process.exit(invalid ? EXIT_INVALID_CONFIG : EXIT_RUN_FAILED);
  },
);
