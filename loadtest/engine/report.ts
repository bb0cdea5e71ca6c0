/**
 * The thresholds, checked before the run (a metric that does not exist or an aggregation its type lacks is a
 * configuration error, as in k6) and evaluated on the metrics: the summary data of lib/summary.ts.
 */
import type { SummaryData } from '../lib/summary.ts';
import type { ThresholdDefinition } from '../lib/profiles.ts';
import { SUMMARY_TREND_STATS } from '../lib/profiles.ts';
import {
  aggregationName,
  allowedFor,
  holds,
  parseExpression,
  parseSelector,
  type ThresholdExpression,
} from '../lib/thresholds.ts';
import { MetricRegistry, UnknownMetricError } from './metrics.ts';
import type { CheckCounts } from './runner.ts';

export interface ParsedThreshold {
  key: string;
  expression: ThresholdExpression;
  abortOnFail: boolean;
  delayAbortEvalMs: number;
}

export class ThresholdConfigError extends Error {
  readonly code = 'THRESHOLD_CONFIG';
}

const source = (definition: ThresholdDefinition) =>
  typeof definition === 'string' ? definition : definition.threshold;

/** Every threshold parsed and validated against its metric's type; the registry that keeps their sub-metrics. */
export function prepareThresholds(
  thresholds: Record<string, ThresholdDefinition[]>,
  parseDelay: (text: string) => number,
): { parsed: ParsedThreshold[]; registry: MetricRegistry } {
  let registry: MetricRegistry;
  try {
    registry = new MetricRegistry(Object.keys(thresholds));
  } catch (error) {
    if (error instanceof UnknownMetricError) throw new ThresholdConfigError(error.message);
    throw error;
  }
  const parsed = Object.entries(thresholds).flatMap(([key, definitions]) =>
    definitions.map((definition) => {
      const expression = parseExpression(source(definition));
      const type = registry.typeOf(parseSelector(key).metric)!;
      if (!allowedFor(type, expression.aggregation)) {
        throw new ThresholdConfigError(
          `${key}: '${expression.source}': ${aggregationName(expression.aggregation)} is not an aggregation of a ${type}`,
        );
      }
      const options: { abortOnFail?: boolean; delayAbortEval?: string } =
        typeof definition === 'string' ? {} : definition;
      return {
        key,
        expression,
        abortOnFail: options.abortOnFail ?? false,
        delayAbortEvalMs: options.delayAbortEval ? parseDelay(options.delayAbortEval) : 0,
      };
    }),
  );
  return { parsed, registry };
}

/** The summary statistics plus whatever percentile a threshold needs. */
function trendStatsFor(parsed: readonly ParsedThreshold[]): string[] {
  const wanted = new Set(SUMMARY_TREND_STATS);
  for (const { expression } of parsed) {
    if (typeof expression.aggregation === 'object') wanted.add(aggregationName(expression.aggregation));
  }
  return [...wanted];
}

export function buildSummary(
  registry: MetricRegistry,
  parsed: readonly ParsedThreshold[],
  checks: CheckCounts,
  durationMs: number,
): SummaryData {
  const named = new Set(parsed.map(({ key }) => key));
  const metrics = registry.summary(trendStatsFor(parsed), durationMs / 1000, named);
  for (const { key, expression } of parsed) {
    const metric = metrics[key]!;
    const actual = metric.values[aggregationName(expression.aggregation)] ?? NaN;
    (metric.thresholds ??= {})[expression.source] = { ok: holds(expression, actual) };
  }
  return {
    metrics,
    root_group: { checks: [...checks].map(([name, counts]) => ({ name, ...counts })) },
    state: { testRunDurationMs: durationMs },
  };
}
