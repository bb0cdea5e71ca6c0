import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROUTE_NAMES } from './http-types.ts';
import type { ScenarioData } from './profiles.ts';
import { holds, parseExpression, parseSelector, ThresholdSyntaxError } from './thresholds.ts';

const data = JSON.parse(readFileSync(join(__dirname, '../data/scenarios.json'), 'utf8')) as ScenarioData;

describe('threshold syntax, as k6 parses it', () => {
  it('reads a tag filter whose value holds colons, spaces and parentheses', () => {
    expect(parseSelector('http_req_duration{name:GET /v1/users/:id (miss)}')).toEqual({
      metric: 'http_req_duration',
      tags: { name: 'GET /v1/users/:id (miss)' },
    });
    expect(parseSelector("checks{ scenario: 'mix' , flow:mix}")).toEqual({
      metric: 'checks',
      tags: { scenario: 'mix', flow: 'mix' },
    });
    expect(parseSelector('http_req_failed')).toEqual({ metric: 'http_req_failed', tags: {} });
    expect(() => parseSelector('http_reqs{name:x')).toThrow(ThresholdSyntaxError);
    expect(() => parseSelector('http_reqs{name}')).toThrow('is not tag:value');
  });

  it('reads expressions with operators tried in k6 order, spaces ignored', () => {
    expect(parseExpression('p(95)<300')).toMatchObject({ aggregation: { percentile: 95 }, operator: '<', value: 300 });
    expect(parseExpression(' p(99.9) <= 1000 ')).toMatchObject({
      aggregation: { percentile: 99.9 },
      operator: '<=',
      value: 1000,
    });
    expect(parseExpression('rate==0')).toMatchObject({ aggregation: 'rate', operator: '==', value: 0 });
    expect(parseExpression('count>=1')).toMatchObject({ aggregation: 'count', operator: '>=', value: 1 });
    for (const bad of ['p95<300', 'p(101)<1', 'rate<', 'avg 300', 'count>x']) {
      expect(() => parseExpression(bad)).toThrow(ThresholdSyntaxError);
    }
  });

  it('evaluates comparisons; a rate of no samples (NaN) passes none but !=', () => {
    expect(holds(parseExpression('rate<0.01'), 0.005)).toBe(true);
    expect(holds(parseExpression('rate<0.01'), 0.01)).toBe(false);
    expect(holds(parseExpression('rate<0.01'), NaN)).toBe(false);
    expect(holds(parseExpression('count>0'), 0)).toBe(false);
  });

  it('parses every threshold of data/scenarios.json', () => {
    const all = Object.values(data.profiles).flatMap((profile) => Object.entries(profile.thresholds));
    expect(all.length).toBeGreaterThan(20);
    for (const [key, definitions] of all) {
      parseSelector(key);
      for (const definition of definitions)
        parseExpression(typeof definition === 'string' ? definition : definition.threshold);
    }
  });

  it('has the smoke profile see every route tag (count>0) and bound its p95 and p99', () => {
    const smoke = data.profiles.smoke!.thresholds;
    for (const name of ROUTE_NAMES) {
      expect(smoke[`http_reqs{name:${name}}`]).toEqual(['count>0']);
      expect(smoke[`http_req_duration{name:${name}}`]).toEqual([
        expect.stringMatching(/^p\(95\)</),
        expect.stringMatching(/^p\(99\)</),
      ]);
    }
  });
});
