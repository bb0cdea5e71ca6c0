/**
 * The end-of-test summary both engines print: k6's handleSummary data (the part of it used here), rendered as
 * text. k6 gets it from handleSummary; the Node engine builds the same shape, so one JSON summary format serves
 * both and a CI job can read either.
 */
import { aggregationName, parseExpression, type MetricType } from './thresholds.ts';

export interface SummaryMetric {
  type: MetricType;
  contains: 'default' | 'time' | 'data';
  values: Record<string, number>;
  thresholds?: Record<string, { ok: boolean }>;
}

export interface SummaryData {
  metrics: Record<string, SummaryMetric>;
  root_group: { checks: { name: string; passes: number; fails: number }[] };
  state: { testRunDurationMs: number };
}

/** The thresholds that failed, as `metric: expression`. */
export function failedThresholds(data: SummaryData): string[] {
  return Object.entries(data.metrics).flatMap(([name, metric]) =>
    Object.entries(metric.thresholds ?? {})
      .filter(([, result]) => !result.ok)
      .map(([expression]) => `${name}: ${expression}`),
  );
}

const formatNumber = (value: number, contains: SummaryMetric['contains']): string => {
  if (!Number.isFinite(value)) return String(value);
  if (contains === 'time') return value >= 1000 ? `${(value / 1000).toFixed(2)}s` : `${value.toFixed(2)}ms`;
  return Number.isInteger(value) ? String(value) : value.toFixed(4);
};

function describe(metric: SummaryMetric, durationSeconds: number): string {
  const { values, contains } = metric;
  switch (metric.type) {
    case 'trend':
      return Object.entries(values)
        .map(([stat, value]) => `${stat}=${formatNumber(value, contains)}`)
        .join(' ');
    case 'rate':
      return `${((values.rate ?? NaN) * 100).toFixed(2)}%  ${values.passes ?? 0} of ${(values.passes ?? 0) + (values.fails ?? 0)}`;
    case 'counter':
      return `${values.count ?? 0}  ${((values.count ?? 0) / Math.max(durationSeconds, 1e-9)).toFixed(2)}/s`;
    case 'gauge':
      return `${values.value ?? 0}  min=${values.min ?? 0} max=${values.max ?? 0}`;
  }
}

export function textSummary(data: SummaryData, title: string): string {
  const seconds = data.state.testRunDurationMs / 1000;
  const lines = [`  ${title}: ${seconds.toFixed(1)} s`, '', '  THRESHOLDS'];
  const names = Object.keys(data.metrics).sort();
  for (const name of names) {
    const metric = data.metrics[name]!;
    for (const [expression, result] of Object.entries(metric.thresholds ?? {})) {
      const stat = aggregationName(parseExpression(expression).aggregation);
      const actual = metric.values[stat];
      const shown = actual === undefined ? '(no data)' : `${stat}=${formatNumber(actual, metric.contains)}`;
      lines.push(`    ${result.ok ? '✓' : '✗'} ${name}: '${expression}' ${shown}`);
    }
  }
  lines.push('', '  CHECKS');
  for (const check of data.root_group.checks) {
    lines.push(`    ${check.fails === 0 ? '✓' : '✗'} ${check.name}: ${check.passes} passed, ${check.fails} failed`);
  }
  lines.push('', '  METRICS');
  const width = Math.max(...names.map((name) => name.length), 10) + 2;
  for (const name of names) {
    lines.push(`    ${`${name} `.padEnd(width, '.')}: ${describe(data.metrics[name]!, seconds)}`);
  }
  const failed = failedThresholds(data);
  lines.push('', failed.length === 0 ? '  every threshold passed' : `  ${failed.length} threshold(s) FAILED`);
  return `${lines.join('\n')}\n`;
}
