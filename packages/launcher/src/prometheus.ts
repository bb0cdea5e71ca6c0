import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { REPOSITORY_ROOT } from './suite';
import { answersOk, startToolProcess } from './tool-process';

/**
 * The `job` label of each scrape target. Alerting rules and dashboards select on it, so every Prometheus that
 * scrapes Warren (this launcher, observability/prometheus/prometheus.local.yml, the Helm chart) uses these names.
 */
export const PROMETHEUS_JOBS = {
  gateway: 'warren-gateway',
  users: 'warren-users',
  orders: 'warren-orders',
  rabbitmq: 'warren-rabbitmq',
} as const;

export type PrometheusTarget = keyof typeof PROMETHEUS_JOBS;

/** Local ports of the scrape targets: the services' defaults and RabbitMQ's prometheus plugin. */
export const DEFAULT_TARGET_PORTS: Record<PrometheusTarget, number> = {
  gateway: 8080,
  users: 9101,
  orders: 9102,
  rabbitmq: 15692,
};

/** The alerting and recording rules every Prometheus loads; the Helm chart ships the same file. */
export const RULES_PATH = resolve(REPOSITORY_ROOT, 'charts/warren/files/prometheus/rules.yaml');

/** Per-queue series (messages ready, consumers…) are only on RabbitMQ's per-object endpoint. */
export const RABBITMQ_METRICS_PATH = '/metrics/per-object';

export interface PrometheusConfigOptions {
  /** Ports on 127.0.0.1 of the targets; a target set to `null` is not scraped. */
  targets?: Partial<Record<PrometheusTarget, number | null>>;
  /** Seconds between scrapes and between rule evaluations. */
  scrapeIntervalSeconds?: number;
  /** Rule files as Prometheus should read them: absolute, or relative to the configuration file. */
  ruleFiles?: string[];
}

/** A Prometheus configuration scraping Warren on 127.0.0.1 with the conventional job names. */
export function renderPrometheusConfig(options: PrometheusConfigOptions = {}): string {
  const interval = `${options.scrapeIntervalSeconds ?? 5}s`;
  const ruleFiles = options.ruleFiles ?? [RULES_PATH];
  const lines = [
    'global:',
    `  scrape_interval: ${interval}`,
    `  evaluation_interval: ${interval}`,
    '',
    'rule_files:',
    ...ruleFiles.map((file) => `  - ${file}`),
    '',
    '# job label convention: warren-<service>, and warren-rabbitmq for the broker (see the rules file).',
    'scrape_configs:',
  ];
  for (const target of Object.keys(PROMETHEUS_JOBS) as PrometheusTarget[]) {
    const port = options.targets?.[target] === undefined ? DEFAULT_TARGET_PORTS[target] : options.targets[target];
    if (port === null) continue;
    lines.push(`  - job_name: ${PROMETHEUS_JOBS[target]}`);
    if (target === 'rabbitmq') lines.push(`    metrics_path: ${RABBITMQ_METRICS_PATH}`);
    lines.push('    static_configs:', `      - targets: ['127.0.0.1:${port}']`);
  }
  return `${lines.join('\n')}\n`;
}

export interface PrometheusOptions extends PrometheusConfigOptions {
  /** Port of Prometheus's own web UI and API on 127.0.0.1 (default 9090). */
  port?: number;
  /** An existing configuration file to run as it is; otherwise one is generated from `targets`. */
  configPath?: string;
  /** TSDB storage; by default a temporary folder, removed by `stop()`. */
  dataDir?: string;
  /** The Prometheus executable (default `prometheus` on PATH; `scripts/tools.sh prometheus` installs it). */
  binary?: string;
  readyTimeoutMs?: number;
}

export interface RunningPrometheus {
  /** Base URL, e.g. http://127.0.0.1:9090 (API under /api/v1). */
  url: string;
  configPath: string;
  dataDir: string;
  /** Where Prometheus's own log goes. */
  logPath: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** Starts Prometheus as a child process and waits until it is ready to serve queries. */
export async function startPrometheus(options: PrometheusOptions = {}): Promise<RunningPrometheus> {
  const port = options.port ?? 9090;
  const url = `http://127.0.0.1:${port}`;
  const workDir = mkdtempSync(join(tmpdir(), 'warren-prometheus-'));
  const dataDir = options.dataDir ?? join(workDir, 'data');
  const configPath = options.configPath ?? join(workDir, 'prometheus.yml');
  if (!options.configPath) writeFileSync(configPath, renderPrometheusConfig(options));
  const tool = await startToolProcess({
    name: 'prometheus',
    binary: options.binary ?? 'prometheus',
    args: [
      `--config.file=${configPath}`,
      `--storage.tsdb.path=${dataDir}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--storage.tsdb.retention.time=1d',
      '--log.level=warn',
    ],
    workDir,
    readyTimeoutMs: options.readyTimeoutMs ?? 30_000,
    ready: () => answersOk(`${url}/-/ready`),
  });
  return { url, configPath, dataDir, logPath: tool.logPath, process: tool.process, stop: tool.stop };
}
