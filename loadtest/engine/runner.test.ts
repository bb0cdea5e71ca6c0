import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeWarren } from '../testing/fake-warren.ts';
import type { LoadRequest } from '../lib/http-types.ts';
import type { ScenarioData } from '../lib/profiles.ts';
import type { HttpSender } from './http-sender.ts';
import { MetricRegistry } from './metrics.ts';
import { ProfileRunner } from './runner.ts';

const data = JSON.parse(readFileSync(join(__dirname, '../data/scenarios.json'), 'utf8')) as ScenarioData;

/** The fake suite behind a sender that takes `delayMs` per request. */
function sender(delayMs: number, answer: (request: LoadRequest) => ReturnType<FakeWarren['answer']>) {
  return {
    send: async (request: LoadRequest) => {
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      return answer(request);
    },
  } as unknown as HttpSender;
}

const count = (registry: MetricRegistry, key: string) => registry.samples(key);

describe('ProfileRunner (the open model)', () => {
  it('starts the first iteration at once and every one on schedule when virtual users suffice', async () => {
    const registry = new MetricRegistry([]);
    const server = new FakeWarren();
    const runner = new ProfileRunner(
      data,
      sender(1, (request) => server.answer(request)),
      registry,
      'unit',
    );
    const outcome = await runner.run({
      description: '',
      thresholds: {},
      scenarios: {
        a: {
          flow: 'createUser',
          executor: 'constant-arrival-rate',
          rate: 20,
          duration: '500ms',
          preAllocatedVUs: 2,
          maxVUs: 2,
        },
      },
    });
    expect(outcome.scenarios[0]).toMatchObject({ offered: 10, started: 10, dropped: 0, completed: 10, interrupted: 0 });
    expect(count(registry, 'dropped_iterations')).toBe(0);
    expect([...runner.checks.values()].every((counts) => counts.fails === 0 && counts.passes === 10)).toBe(true);
  });

  it('drops the iterations due while every virtual user is busy, never queueing them, up to maxVUs', async () => {
    const registry = new MetricRegistry([]);
    const server = new FakeWarren();
    // Each iteration is two 150 ms requests: one VU can run one iteration every 300 ms, 20 are due per second.
    const runner = new ProfileRunner(
      data,
      sender(150, (request) => server.answer(request)),
      registry,
      'unit',
    );
    const outcome = await runner.run({
      description: '',
      thresholds: {},
      scenarios: {
        a: {
          flow: 'createUser',
          executor: 'constant-arrival-rate',
          rate: 20,
          duration: '1s',
          preAllocatedVUs: 1,
          maxVUs: 2,
        },
      },
    });
    const [scenario] = outcome.scenarios;
    expect(scenario!.offered).toBe(20);
    expect(scenario!.dropped).toBeGreaterThan(10);
    expect(scenario!.started + scenario!.dropped).toBe(20);
    expect(count(registry, 'dropped_iterations')).toBe(scenario!.dropped);
    // Never more than maxVUs at once: at most 2 iterations per 300 ms, plus the ones in flight at the start.
    expect(scenario!.started).toBeLessThanOrEqual(2 * Math.ceil(1000 / 300) + 2);
  });

  it('counts an iteration that throws and goes on, as k6 does', async () => {
    const registry = new MetricRegistry([]);
    let calls = 0;
    const runner = new ProfileRunner(
      data,
      sender(1, () => {
        if (calls++ % 2 === 0) throw new Error('broken');
        return { status: 201, headers: {}, body: '{}' };
      }),
      registry,
      'unit',
    );
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const outcome = await runner.run({
      description: '',
      thresholds: {},
      scenarios: {
        a: {
          flow: 'createUser',
          executor: 'constant-arrival-rate',
          rate: 20,
          duration: '300ms',
          preAllocatedVUs: 5,
          maxVUs: 5,
        },
      },
    });
    stderr.mockRestore();
    expect(runner.iterationErrors).toBeGreaterThan(0);
    expect(outcome.scenarios[0]!.started).toBe(6);
  });

  it('stops every scenario at once on abort, without waiting for gracefulStop', async () => {
    const registry = new MetricRegistry([]);
    const runner = new ProfileRunner(
      data,
      sender(2000, () => ({ status: 201, headers: {}, body: '{}' })),
      registry,
      'unit',
    );
    setTimeout(() => runner.abort(), 200);
    const started = performance.now();
    const outcome = await runner.run({
      description: '',
      thresholds: {},
      scenarios: {
        a: {
          flow: 'createUser',
          executor: 'constant-arrival-rate',
          rate: 10,
          duration: '30s',
          preAllocatedVUs: 5,
          maxVUs: 5,
        },
        later: {
          flow: 'createUser',
          executor: 'constant-arrival-rate',
          rate: 1,
          duration: '1s',
          startTime: '20s',
          preAllocatedVUs: 1,
          maxVUs: 1,
        },
      },
    });
    expect(outcome.aborted).toBe(true);
    expect(performance.now() - started).toBeLessThan(5_000);
  });
});
