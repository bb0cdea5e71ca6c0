import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDuration } from '../lib/duration.ts';
import type { ScenarioData } from '../lib/profiles.ts';
import { buildSummary, prepareThresholds, ThresholdConfigError } from './report.ts';

describe('thresholds evaluated on the engine’s metrics', () => {
  const thresholds = {
    http_req_failed: ['rate<0.5'],
    'http_req_duration{name:POST /v1/users}': ['p(95)<100', 'p(99.9)<150', 'max<1000'],
    'http_reqs{name:POST /v1/users}': ['count>0'],
    // A mistyped tag: nothing ever matches it, so count>0 must fail rather than pass.
    'http_reqs{name:POST /v1/user}': ['count>0'],
    dropped_iterations: ['count==0'],
  };

  it('passes what holds, fails what does not, including a threshold whose tag matches no request', () => {
    const { parsed, registry } = prepareThresholds(thresholds, parseDuration);
    for (let index = 1; index <= 100; index++) {
      const tags = { name: 'POST /v1/users', status: '201', expected_response: 'true' };
      registry.add('http_reqs', 1, tags);
      registry.add('http_req_duration', index, tags);
      registry.add('http_req_failed', 0, tags);
    }
    registry.add('http_req_duration', 5000, { name: 'GET /v1/users/:id (miss)' });
    const summary = buildSummary(registry, parsed, new Map([['a check', { passes: 1, fails: 0 }]]), 10_000);
    const verdicts = Object.fromEntries(
      Object.entries(summary.metrics).flatMap(([name, metric]) =>
        Object.entries(metric.thresholds ?? {}).map(([expression, { ok }]) => [`${name}: ${expression}`, ok]),
      ),
    );
    expect(verdicts).toEqual({
      'http_req_failed: rate<0.5': true,
      'http_req_duration{name:POST /v1/users}: p(95)<100': true,
      'http_req_duration{name:POST /v1/users}: p(99.9)<150': true,
      'http_req_duration{name:POST /v1/users}: max<1000': true,
      'http_reqs{name:POST /v1/users}: count>0': true,
      'http_reqs{name:POST /v1/user}: count>0': false,
      'dropped_iterations: count==0': true,
    });
    // The untagged metric saw the 5 s read too; the sub-metric did not.
    expect(summary.metrics.http_req_duration!.values.max).toBeCloseTo(5000, -1);
    expect(summary.metrics['http_req_duration{name:POST /v1/users}']!.values['p(95)']).toBeCloseTo(95, 0);
    expect(summary.metrics.http_reqs!.values).toEqual({ count: 100, rate: 10 });
  });

  it('accepts every profile of data/scenarios.json: known metrics, aggregations their types have', () => {
    const data = JSON.parse(readFileSync(join(__dirname, '../data/scenarios.json'), 'utf8')) as ScenarioData;
    for (const profile of Object.values(data.profiles)) {
      expect(prepareThresholds(profile.thresholds, parseDuration).parsed.length).toBeGreaterThanOrEqual(2);
    }
  });

  it('refuses, as k6 does, a threshold on an unknown metric or with an aggregation its type lacks', () => {
    expect(() => prepareThresholds({ http_req_durations: ['p(95)<1'] }, parseDuration)).toThrow(ThresholdConfigError);
    expect(() => prepareThresholds({ http_reqs: ['p(95)<1'] }, parseDuration)).toThrow(
      'p(95) is not an aggregation of a counter',
    );
    expect(() => prepareThresholds({ checks: ['count>1'] }, parseDuration)).toThrow(
      'count is not an aggregation of a rate',
    );
  });
});
