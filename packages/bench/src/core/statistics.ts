/** The statistics every report is made of: medians over rounds, percentiles of latencies. */

/** Median of numbers; the mean of the middle two when their count is even; NaN when there are none. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const upper = sorted[middle] ?? Number.NaN;
  if (sorted.length % 2 === 1) return upper;
  return ((sorted[middle - 1] ?? Number.NaN) + upper) / 2;
}

/**
 * For each of `keys`, the median of that figure over `items`: how the rounds of one cell make the one row the
 * tables show. The keys keep their order, so the JSON line lists the figures as the type declares them.
 */
export function medianOfEach<Key extends string>(
  items: readonly Readonly<Partial<Record<Key, number>>>[],
  keys: readonly Key[],
): Record<Key, number> {
  const medians = {} as Record<Key, number>;
  for (const key of keys) medians[key] = median(items.map((item) => item[key] ?? Number.NaN));
  return medians;
}

/** Nearest-rank percentile of ascending values; NaN when there are none. */
export function percentile(ascending: Float64Array, percent: number): number {
  if (ascending.length === 0) return Number.NaN;
  const rank = Math.ceil((percent / 100) * ascending.length);
  return ascending[Math.min(ascending.length, Math.max(1, rank)) - 1] ?? Number.NaN;
}

export interface LatencyPercentiles {
  p50Ms: number;
  p99Ms: number;
}

/** p50 and p99 of latencies in milliseconds, in any order. */
export function latencyPercentiles(latenciesMs: readonly number[]): LatencyPercentiles {
  const sorted = Float64Array.from(latenciesMs).sort();
  return { p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99) };
}
