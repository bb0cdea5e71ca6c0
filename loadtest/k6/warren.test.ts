/// <reference types="k6" />
/**
 * The k6 entry script with the k6 modules stubbed: its options come from data/scenarios.json, each exported
 * scenario function runs one iteration against a fake `http` (testing/fake-warren.ts) with every check passing,
 * and handleSummary writes the text and the JSON summary.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeWarren } from '../testing/fake-warren.ts';
import type * as Script from './warren.ts';

const server = new FakeWarren();
const checks: { name: string; passed: boolean }[] = [];
const metrics: { metric: string; value: number | boolean }[] = [];

jest.mock(
  'k6',
  () => ({
    check: (_value: unknown, sets: Record<string, () => boolean>) => {
      for (const [name, predicate] of Object.entries(sets)) checks.push({ name, passed: predicate() });
      return true;
    },
  }),
  { virtual: true },
);
jest.mock('k6/execution', () => ({ __esModule: true, default: { vu: { idInTest: 1, iterationInInstance: 0 } } }), {
  virtual: true,
});
jest.mock(
  'k6/metrics',
  () => {
    class Metric {
      constructor(private readonly name: string) {}
      add(value: number | boolean) {
        metrics.push({ metric: this.name, value });
      }
    }
    return { Counter: Metric, Rate: Metric };
  },
  { virtual: true },
);
jest.mock(
  'k6/http',
  () => ({
    __esModule: true,
    default: {
      request: (
        method: 'GET' | 'POST',
        url: string,
        body: string | null,
        params: { headers: Record<string, string>; tags: { name: never } },
      ) => {
        const answer = server.answer({
          method,
          path: url.replace('http://warren.test:8080', ''),
          headers: params.headers,
          ...(body === null ? {} : { body }),
          tags: params.tags,
        });
        // k6 gives header names canonicalized.
        const headers = Object.fromEntries(
          Object.entries(answer.headers).map(([name, value]) => [
            name.replace(/(^|-)([a-z])/g, (_, dash: string, letter: string) => dash + letter.toUpperCase()),
            value,
          ]),
        );
        return { status: answer.status, headers, body: answer.body };
      },
    },
  }),
  { virtual: true },
);

const globals = globalThis as unknown as { open: (path: string) => string; __ENV: Record<string, string> };
globals.open = (path: string) => readFileSync(join(__dirname, path), 'utf8');
globals.__ENV = { BASE_URL: 'http://warren.test:8080', PROFILE: 'smoke', RUN_ID: 'unit' };

// eslint-disable-next-line @typescript-eslint/no-require-imports
const script = require('./warren.ts') as typeof Script;

describe('loadtest/k6/warren.ts, k6 stubbed', () => {
  beforeEach(() => {
    checks.length = 0;
    metrics.length = 0;
  });

  it('builds its options from data/scenarios.json (the smoke profile asked for in __ENV)', () => {
    const data = JSON.parse(readFileSync(join(__dirname, '../data/scenarios.json'), 'utf8'));
    expect(Object.keys(script.options.scenarios ?? {})).toEqual(Object.keys(data.profiles.smoke.scenarios));
    expect(script.options.thresholds).toEqual(data.profiles.smoke.thresholds);
    for (const scenario of Object.values(script.options.scenarios ?? {})) {
      expect(typeof (script as unknown as Record<string, unknown>)[scenario.exec!]).toBe('function');
    }
  });

  it.each(['createUser', 'readUser', 'placeOrder', 'mix'] as const)(
    'runs one %s iteration: every check passes, no server error',
    (exec) => {
      const before = server.requests.length;
      script[exec](script.setup());
      expect(server.requests.length).toBeGreaterThan(before + 1);
      expect(checks.length).toBeGreaterThan(0);
      expect(checks.filter((check) => !check.passed)).toEqual([]);
      // One server_errors sample per request, none of them true.
      const serverErrors = metrics.filter((sample) => sample.metric === 'server_errors');
      expect(serverErrors).toHaveLength(server.requests.length - before);
      expect(serverErrors.filter((sample) => sample.value !== false)).toEqual([]);
    },
  );

  it('writes the text summary and summary-<profile>.json from handleSummary', () => {
    const summary = {
      metrics: {
        http_reqs: {
          type: 'counter' as const,
          contains: 'default' as const,
          values: { count: 3, rate: 1 },
          thresholds: { 'count>0': { ok: true } },
        },
      },
      root_group: { checks: [{ name: 'a check', passes: 3, fails: 0 }] },
      state: { testRunDurationMs: 3000 },
    };
    const files = script.handleSummary(summary);
    expect(Object.keys(files).sort()).toEqual(['stdout', 'summary-smoke.json']);
    expect(files.stdout).toContain("✓ http_reqs: 'count>0' count=3");
    expect(JSON.parse(files['summary-smoke.json']!)).toEqual(summary);
  });
});
