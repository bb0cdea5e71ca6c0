import { parseDuration } from '../lib/duration.ts';
import { watchAbortOnFail } from './abort-on-fail.ts';
import { buildSummary, prepareThresholds } from './report.ts';

describe('abortOnFail', () => {
  const thresholds = { checks: [{ threshold: 'rate==1', abortOnFail: true }], http_reqs: ['count>1000'] };

  async function watch(samples: number[]): Promise<string[]> {
    const { parsed, registry } = prepareThresholds(thresholds, parseDuration);
    for (const passed of samples) registry.add('checks', passed, {});
    const aborted: string[] = [];
    const timer = watchAbortOnFail(
      registry,
      parsed,
      () => buildSummary(registry, parsed, new Map(), 1000),
      performance.now(),
      (failed) => aborted.push(failed),
      10,
    );
    await new Promise((resolve) => setTimeout(resolve, 60));
    clearInterval(timer);
    return aborted;
  }

  it('aborts once, on the failing threshold marked abortOnFail, not on the others', async () => {
    expect(await watch([1, 1, 0])).toEqual(['checks: rate==1']);
  });

  it('leaves a run alone while its thresholds hold, or while the metric has no sample yet', async () => {
    expect(await watch([1, 1, 1])).toEqual([]);
    expect(await watch([])).toEqual([]);
  });
});
