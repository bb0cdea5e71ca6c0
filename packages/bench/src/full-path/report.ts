import { availableParallelism, cpus, totalmem } from 'node:os';
import {
  busyGeneratorWarning,
  formatMarkdownTable,
  formatTable,
  formatTargets,
  roundsNote,
  type TargetResult,
} from '../core/report';
import { serverProcesses, type ComparisonRow } from './compare';
import type { FullPathConfig } from './config';
import type { ProcessName } from './environment';

// Issue 15's targets for the full path against the floor measured in the same run.
const MIN_THROUGHPUT_RATIO_PERCENT = 75;
const THROUGHPUT_TARGET_CONCURRENCIES = [16, 64];
const THROUGHPUT_TARGET_OPERATIONS: readonly string[] = ['create', 'get'];
const MAX_P99_RATIO = 1.5;
const MAX_P50_RATIO = 1.5;
const P50_TARGET_CONCURRENCY = 1;
/** CPU per request, against the floor's process that does the same job. */
const MAX_CPU_RATIOS: readonly { warren: ProcessName; floor: ProcessName; max: number }[] = [
  { warren: 'gateway', floor: 'floorHttp', max: 2.5 },
  { warren: 'users', floor: 'floorWorker', max: 1.5 },
];
// Above this the generator's event loop, not the path under test, may be what limits the rate.
const BUSY_GENERATOR_CPU_PERCENT = 80;

export const OPERATION_LABELS = {
  create: 'POST /v1/users',
  get: 'GET /v1/users/:id',
  order: 'POST /v1/orders',
} as const;

/** The machine every process of the run shares, for the reports' headers. */
export function machineDescription(): string {
  const model = cpus()[0]?.model.trim() ?? 'unknown CPU';
  return `${availableParallelism()} CPUs (${model}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB; Node ${process.version}`;
}

/** The parts of the comparison's report, printed as text or (--markdown) as GitHub markdown. */
interface ComparisonReport {
  heading: string[];
  header: string[];
  body: string[][];
  notes: string[];
  byProcessTitle: string;
  byProcess: string[];
  warnings: string[];
  targets: string[];
}

export function formatComparison(
  config: FullPathConfig,
  context: { tracingNote: string; sliceSeconds: number; brokerNote: string },
  rows: readonly ComparisonRow[],
  targets: readonly TargetResult[],
): string {
  const report = comparisonReport(config, context, rows, targets);
  return config.markdown ? comparisonMarkdown(report) : comparisonText(report);
}

function comparisonReport(
  config: FullPathConfig,
  context: { tracingNote: string; sliceSeconds: number; brokerNote: string },
  rows: readonly ComparisonRow[],
  targets: readonly TargetResult[],
): ComparisonReport {
  const header = [
    'request',
    'conc',
    'floor req/s',
    'full req/s',
    'full/floor',
    'floor p50 / p99 ms',
    'full p50 / p99 ms',
    'p99 ratio',
    'gen CPU %',
    'server CPU µs/req',
    'jaeger CPU %',
    'machine busy %',
    'errors',
  ];
  const body = rows.map((row) => [
    OPERATION_LABELS[row.operation],
    String(row.concurrency),
    row.floor.requestsPerSecond.toFixed(0),
    row.warren.requestsPerSecond.toFixed(0),
    `${row.throughputRatioPercent.toFixed(1)}%`,
    `${row.floor.p50Ms.toFixed(2)} / ${row.floor.p99Ms.toFixed(2)}`,
    `${row.warren.p50Ms.toFixed(2)} / ${row.warren.p99Ms.toFixed(2)}`,
    `${row.p99Ratio.toFixed(2)}x`,
    `${row.floor.generatorCpuPercent.toFixed(0)} / ${row.warren.generatorCpuPercent.toFixed(0)}`,
    `${row.floor.serverCpuMicrosPerRequest.toFixed(0)} / ${row.warren.serverCpuMicrosPerRequest.toFixed(0)}`,
    row.warren.jaegerCpuPercent.toFixed(0),
    `${row.floor.machineBusyPercent.toFixed(0)} / ${row.warren.machineBusyPercent.toFixed(0)}`,
    `${row.floor.errors} / ${row.warren.errors}`,
  ]);
  const orders = config.operations.includes('order');
  const micros = (figures: ComparisonRow['floor'], names: readonly ProcessName[]) =>
    names.map((name) => figures.serverCpuMicrosPerRequestByProcess[name]?.toFixed(0)).join(' + ');
  return {
    heading: [
      `Full path (HTTP gateway -> RPC -> users worker -> PostgreSQL) against the floor (node:http + bare amqplib + pg),`,
      `closed loop over keep-alive connections: ${config.seconds} s window per implementation and cell after ` +
        `${config.warmupSeconds} s warm-up, floor and full path alternating in ${context.sliceSeconds.toFixed(2)} s ` +
        `slices; ${roundsNote(config.rounds)}`,
      ...(orders
        ? [
            'POST /v1/orders: HTTP gateway -> RPC -> orders worker -> RPC users.get -> users worker -> PostgreSQL, ' +
              'then the INSERT into warren_orders; the floor the same with a floor orders worker',
          ]
        : []),
      `Machine: ${machineDescription()}; ${context.brokerNote}`,
      `Tracing: ${context.tracingNote}. Logging: info, to a file. Metrics: on. Rate limit: on (high limit).`,
      ...Object.entries(config.serviceEnvironment).map(
        ([service, variables]) =>
          `Overridden for ${service}: ${Object.entries(variables)
            .map(([name, value]) => `${name}=${value}`)
            .join(' ')}`,
      ),
    ],
    header,
    body,
    notes: [
      'Pairs are floor / full path. "server CPU µs/req" adds the floor HTTP server and floor worker, or the gateway',
      'and the users worker (RabbitMQ, PostgreSQL, Redis and Jaeger not included); "machine busy %" is all CPUs.',
      ...(orders ? ['For POST /v1/orders it also adds the floor orders worker, or the orders worker.'] : []),
    ],
    byProcessTitle:
      'Server CPU µs/req by process: floor HTTP + floor worker | gateway + users worker' +
      (orders ? ' (POST /v1/orders: + floor orders worker | + orders worker)' : ''),
    byProcess: rows.map(
      (row) =>
        `${OPERATION_LABELS[row.operation]} at ${row.concurrency}: ` +
        `${micros(row.floor, serverProcesses(row.operation, 'floor'))} | ` +
        `${micros(row.warren, serverProcesses(row.operation, 'warren'))}`,
    ),
    warnings: warnings(rows),
    targets: formatTargets(targets).map((line) => line.trim()),
  };
}

function comparisonText(report: ComparisonReport): string {
  return [
    ...report.heading,
    '',
    ...formatTable(report.header, report.body),
    '',
    ...report.notes,
    report.byProcessTitle,
    ...report.byProcess.map((line) => `  ${line}`),
    ...report.warnings,
    '',
    'Targets',
    ...report.targets.map((line) => `  ${line}`),
  ].join('\n');
}

/** The same report as GitHub markdown: the table as a table, the rest as paragraphs and lists. */
function comparisonMarkdown(report: ComparisonReport): string {
  return [
    '### Full path against the floor',
    '',
    report.heading.join('<br>\n'),
    '',
    ...formatMarkdownTable(report.header, report.body),
    '',
    report.notes.join('\n'),
    '',
    `${report.byProcessTitle}:`,
    '',
    ...report.byProcess.map((line) => `- ${line}`),
    ...(report.warnings.length > 0 ? ['', ...report.warnings.map((line) => `- **${line}**`)] : []),
    '',
    '**Targets**',
    '',
    ...report.targets.map((line) => `- ${line}`),
  ].join('\n');
}

function warnings(rows: readonly ComparisonRow[]): string[] {
  const lines: string[] = [];
  for (const row of rows) {
    for (const implementation of ['floor', 'warren'] as const) {
      const figures = row[implementation];
      lines.push(
        ...busyGeneratorWarning(
          figures.generatorCpuPercent,
          BUSY_GENERATOR_CPU_PERCENT,
          `(${implementation}, ${row.operation} at ${row.concurrency})`,
        ),
      );
      if (figures.errors > 0) {
        lines.push(
          `warning: ${figures.errors} failed requests (${implementation}, ${row.operation} at ${row.concurrency}): ` +
            figures.problems.join('; '),
        );
      }
    }
  }
  return lines;
}

export function evaluateComparison(rows: readonly ComparisonRow[]): TargetResult[] {
  const targets: TargetResult[] = [];
  for (const row of rows) {
    const label = `${OPERATION_LABELS[row.operation]} at concurrency ${row.concurrency}`;
    if (
      THROUGHPUT_TARGET_CONCURRENCIES.includes(row.concurrency) &&
      THROUGHPUT_TARGET_OPERATIONS.includes(row.operation)
    ) {
      targets.push({
        description: `full-path throughput >= ${MIN_THROUGHPUT_RATIO_PERCENT}% of floor, ${label}`,
        value: `${row.throughputRatioPercent.toFixed(1)}%`,
        met: row.throughputRatioPercent >= MIN_THROUGHPUT_RATIO_PERCENT,
      });
    }
    targets.push({
      description: `full-path p99 <= ${MAX_P99_RATIO}x floor p99, ${label}`,
      value: `${row.p99Ratio.toFixed(2)}x (${row.warren.p99Ms.toFixed(2)} ms vs ${row.floor.p99Ms.toFixed(2)} ms)`,
      met: row.p99Ratio <= MAX_P99_RATIO,
    });
    if (row.concurrency === P50_TARGET_CONCURRENCY) {
      const ratio = row.warren.p50Ms / row.floor.p50Ms;
      targets.push({
        description: `full-path p50 <= ${MAX_P50_RATIO}x floor p50, ${label}`,
        value: `${ratio.toFixed(2)}x (${row.warren.p50Ms.toFixed(2)} ms vs ${row.floor.p50Ms.toFixed(2)} ms)`,
        met: ratio <= MAX_P50_RATIO,
      });
    }
    if (row.operation === 'order') continue;
    for (const { warren, floor, max } of MAX_CPU_RATIOS) {
      const mine = row.warren.serverCpuMicrosPerRequestByProcess[warren];
      const theirs = row.floor.serverCpuMicrosPerRequestByProcess[floor];
      if (mine === undefined || theirs === undefined || !(theirs > 0)) continue;
      targets.push({
        description: `${warren} CPU per request <= ${max}x the floor's (${floor}), ${label}`,
        value: `${(mine / theirs).toFixed(2)}x (${mine.toFixed(0)} µs vs ${theirs.toFixed(0)} µs)`,
        met: mine / theirs <= max,
      });
    }
  }
  return targets;
}
