/** abortOnFail: the thresholds that end a run early, judged while it runs. */
import type { MetricRegistry } from './metrics.ts';
import type { ParsedThreshold } from './report.ts';
import type { SummaryData } from '../lib/summary.ts';

/**
 * Every `intervalMs` (default 1 s), the thresholds marked abortOnFail whose delay has passed; calls `abort` once,
 * with the first that fails.
 */
export function watchAbortOnFail(
  registry: MetricRegistry,
  parsed: readonly ParsedThreshold[],
  snapshot: () => SummaryData,
  startedAt: number,
  abort: (failed: string) => void,
  intervalMs = 1000,
): NodeJS.Timeout {
  const watched = parsed.filter((threshold) => threshold.abortOnFail);
  const timer = setInterval(() => {
    const elapsed = performance.now() - startedAt;
    const due = watched.filter((threshold) => elapsed >= threshold.delayAbortEvalMs);
    if (due.length === 0) return;
    const summary = snapshot();
    // As k6 during a run: a metric without samples yet is not judged.
    const failed = due.find(
      ({ key, expression }) =>
        registry.samples(key) > 0 && summary.metrics[key]?.thresholds?.[expression.source]?.ok === false,
    );
    if (failed) {
      clearInterval(timer);
      abort(`${failed.key}: ${failed.expression.source}`);
    }
  }, intervalMs);
  timer.unref();
  return timer;
}
