/**
 * k6's metric model, as far as the scenarios use it: samples of named metrics with tags, kept per metric and per
 * sub-metric (a tag filter some threshold names), aggregated the way k6 aggregates them. Trends keep an HDR
 * histogram (microseconds, three significant digits) rather than every sample, so a long soak costs no memory.
 */
import { build, type Histogram } from 'hdr-histogram-js';
import { parseSelector, type MetricSelector, type MetricType } from '../lib/thresholds.ts';
import type { SummaryMetric } from '../lib/summary.ts';

export type Tags = Record<string, string>;

interface Sink {
  /** Samples added. */
  readonly samples: number;
  add(value: number): void;
  values(trendStats: readonly string[], durationSeconds: number): Record<string, number>;
}

class TrendSink implements Sink {
  private readonly histogram: Histogram = build({ numberOfSignificantValueDigits: 3, autoResize: true });
  samples = 0;

  add(value: number): void {
    this.histogram.recordValue(Math.max(0, Math.round(value * 1000)));
    this.samples++;
  }

  values(trendStats: readonly string[]): Record<string, number> {
    const histogram = this.histogram;
    const at = (stat: string): number => {
      if (this.samples === 0) return 0;
      if (stat === 'avg') return histogram.mean / 1000;
      if (stat === 'min')
        return histogram.minNonZeroValue === Number.MAX_SAFE_INTEGER ? 0 : histogram.minNonZeroValue / 1000;
      if (stat === 'max') return histogram.maxValue / 1000;
      if (stat === 'med') return histogram.getValueAtPercentile(50) / 1000;
      const percentile = /^p\(([\d.]+)\)$/.exec(stat);
      if (percentile) return histogram.getValueAtPercentile(Number(percentile[1])) / 1000;
      throw new Error(`unknown trend statistic ${stat}`);
    };
    return Object.fromEntries(trendStats.map((stat) => [stat, at(stat)]));
  }
}

class RateSink implements Sink {
  private passes = 0;
  private total = 0;

  get samples(): number {
    return this.total;
  }

  add(value: number): void {
    this.total++;
    if (value !== 0) this.passes++;
  }

  values(): Record<string, number> {
    return {
      rate: this.total === 0 ? NaN : this.passes / this.total,
      passes: this.passes,
      fails: this.total - this.passes,
    };
  }
}

class CounterSink implements Sink {
  private sum = 0;
  samples = 0;

  add(value: number): void {
    this.sum += value;
    this.samples++;
  }

  values(_trendStats: readonly string[], durationSeconds: number): Record<string, number> {
    return { count: this.sum, rate: durationSeconds > 0 ? this.sum / durationSeconds : 0 };
  }
}

class GaugeSink implements Sink {
  private last = 0;
  private min = Infinity;
  private max = -Infinity;
  samples = 0;

  add(value: number): void {
    this.samples++;
    this.last = value;
    this.min = Math.min(this.min, value);
    this.max = Math.max(this.max, value);
  }

  values(): Record<string, number> {
    return {
      value: this.last,
      min: Number.isFinite(this.min) ? this.min : 0,
      max: Number.isFinite(this.max) ? this.max : 0,
    };
  }
}

const SINKS: Record<MetricType, () => Sink> = {
  trend: () => new TrendSink(),
  rate: () => new RateSink(),
  counter: () => new CounterSink(),
  gauge: () => new GaugeSink(),
};

interface Metric {
  type: MetricType;
  contains: SummaryMetric['contains'];
  sink: Sink;
  /** Sub-metrics by their key as written (`http_req_duration{name:POST /v1/users}`). */
  subMetrics: { key: string; selector: MetricSelector; sink: Sink }[];
}

/** k6's built-in metrics this engine produces, and the scripts' custom ones. */
export const METRIC_TYPES: Record<string, { type: MetricType; contains: SummaryMetric['contains'] }> = {
  http_reqs: { type: 'counter', contains: 'default' },
  http_req_duration: { type: 'trend', contains: 'time' },
  http_req_failed: { type: 'rate', contains: 'default' },
  iterations: { type: 'counter', contains: 'default' },
  iteration_duration: { type: 'trend', contains: 'time' },
  dropped_iterations: { type: 'counter', contains: 'default' },
  checks: { type: 'rate', contains: 'default' },
  vus: { type: 'gauge', contains: 'default' },
  server_errors: { type: 'rate', contains: 'default' },
  refused_requests: { type: 'counter', contains: 'default' },
};

export class UnknownMetricError extends Error {
  readonly code = 'UNKNOWN_METRIC';
}

export class MetricRegistry {
  private readonly metrics = new Map<string, Metric>();

  /** `subMetricKeys`: every `metric{tags}` some threshold names (k6 keeps exactly those). */
  constructor(subMetricKeys: readonly string[]) {
    for (const [name, { type, contains }] of Object.entries(METRIC_TYPES)) {
      this.metrics.set(name, { type, contains, sink: SINKS[type](), subMetrics: [] });
    }
    for (const key of subMetricKeys) {
      const selector = parseSelector(key);
      const metric = this.metrics.get(selector.metric);
      if (!metric) throw new UnknownMetricError(`threshold on ${key}: no metric ${selector.metric}`);
      if (Object.keys(selector.tags).length > 0 && !metric.subMetrics.some((sub) => sub.key === key)) {
        metric.subMetrics.push({ key, selector, sink: SINKS[metric.type]() });
      }
    }
  }

  /** Samples of a metric or sub-metric (by its key as a threshold writes it). */
  samples(key: string): number {
    const selector = parseSelector(key);
    const metric = this.metrics.get(selector.metric);
    if (!metric) return 0;
    if (Object.keys(selector.tags).length === 0) return metric.sink.samples;
    return metric.subMetrics.find((sub) => sub.key === key)?.sink.samples ?? 0;
  }

  typeOf(name: string): MetricType | undefined {
    return this.metrics.get(name)?.type;
  }

  add(name: string, value: number, tags: Tags): void {
    const metric = this.metrics.get(name);
    if (!metric) throw new UnknownMetricError(`no metric ${name}`);
    metric.sink.add(value);
    for (const sub of metric.subMetrics) {
      if (Object.entries(sub.selector.tags).every(([key, wanted]) => tags[key] === wanted)) sub.sink.add(value);
    }
  }

  /** Every metric that got a sample or that a threshold names (itself or a sub-metric), and every sub-metric. */
  summary(
    trendStats: readonly string[],
    durationSeconds: number,
    named: ReadonlySet<string>,
  ): Record<string, SummaryMetric> {
    const out: Record<string, SummaryMetric> = {};
    for (const [name, metric] of this.metrics) {
      // k6 leaves a metric that got no sample out, unless a threshold names it.
      if (metric.sink.samples === 0 && !named.has(name) && metric.subMetrics.length === 0) continue;
      out[name] = {
        type: metric.type,
        contains: metric.contains,
        values: metric.sink.values(trendStats, durationSeconds),
      };
      for (const sub of metric.subMetrics) {
        out[sub.key] = {
          type: metric.type,
          contains: metric.contains,
          values: sub.sink.values(trendStats, durationSeconds),
        };
      }
    }
    return out;
  }
}
