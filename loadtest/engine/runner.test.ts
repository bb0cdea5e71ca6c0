import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeWarren } from '../testing/fake-warren.ts';
import type { LoadRequest, LoadResponse } from '../lib/http-types.ts';
import type { ScenarioData, ScenarioDefinition } from '../lib/profiles.ts';
import type { HttpSender } from './http-sender.ts';
import { MetricRegistry } from './metrics.ts';
import { ProfileRunner } from './runner.ts';

const data = JSON.parse(readFileSync(join(__dirname, '../data/scenarios.json'), 'utf8')) as ScenarioData;

/** A sender that takes `delayMs` per request and answers with `answer` (default: the fake suite). */
function sender(delayMs: number, answer: (request: LoadRequest) => LoadResponse = fakeSuite()) {
  return {
    send: async (request: LoadRequest) => {
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      return answer(request);
    },
  } as unknown as HttpSender;
}

function fakeSuite(): (request: LoadRequest) => LoadResponse {
  const server = new FakeWarren();
  return (request) => server.answer(request);
}

const createUsers = (settings: Partial<ScenarioDefinition>): ScenarioDefinition =>
  ({
    flow: 'createUser',
    executor: 'constant-arrival-rate',
    preAllocatedVUs: 1,
    maxVUs: 1,
    ...settings,
  }) as ScenarioDefinition;

/** Runs `scenarios` with a fresh registry; `whileRunning` gets the runner once it has started. */
async function run(
  send: HttpSender,
  scenarios: Record<string, ScenarioDefinition>,
  whileRunning?: (runner: ProfileRunner) => void,
) {
  const registry = new MetricRegistry([]);
  const runner = new ProfileRunner(data, send, registry, 'unit');
  whileRunning?.(runner);
  const outcome = await runner.run({ description: '', thresholds: {}, scenarios });
  return { registry, runner, outcome, first: outcome.scenarios[0]! };
}

describe('ProfileRunner (the open model)', () => {
  it('starts the first iteration at once and every one on schedule when virtual users suffice', async () => {
    const { registry, runner, first } = await run(sender(1), {
      a: createUsers({ rate: 20, duration: '500ms', preAllocatedVUs: 10, maxVUs: 10 }),
    });
    expect(first).toMatchObject({ offered: 10, started: 10, dropped: 0, completed: 10, interrupted: 0 });
    expect(registry.samples('dropped_iterations')).toBe(0);
    expect([...runner.checks.values()].every((counts) => counts.fails === 0 && counts.passes === 10)).toBe(true);
  });

  it('drops the iterations due while every virtual user is busy, never queueing them, up to maxVUs', async () => {
    // Each iteration is two 150 ms requests: one VU runs one iteration every 300 ms; 20 are due in the second.
    const { registry, first } = await run(sender(150), {
      a: createUsers({ rate: 20, duration: '1s', preAllocatedVUs: 1, maxVUs: 2 }),
    });
    expect(first.offered).toBe(20);
    expect(first.dropped).toBeGreaterThan(10);
    expect(first.started + first.dropped).toBe(20);
    expect(registry.samples('dropped_iterations')).toBe(first.dropped);
    // Never more than maxVUs (2) at once: at most 2 iterations per 300 ms, plus those of the first moment.
    expect(first.started).toBeLessThanOrEqual(2 * Math.ceil(1000 / 300) + 2);
  });

  it('counts an iteration that throws and goes on, as k6 does', async () => {
    let calls = 0;
    const failing = sender(1, () => {
      if (calls++ % 2 === 0) throw new Error('broken');
      return { status: 201, headers: {}, body: '{}' };
    });
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const { runner, first } = await run(failing, {
      a: createUsers({ rate: 20, duration: '300ms', preAllocatedVUs: 5, maxVUs: 5 }),
    });
    stderr.mockRestore();
    expect(runner.iterationErrors).toBeGreaterThan(0);
    expect(first.started).toBe(6);
  });

  it('stops every scenario at once on abort, without waiting for gracefulStop or a later startTime', async () => {
    const { outcome } = await run(
      sender(2000, () => ({ status: 201, headers: {}, body: '{}' })),
      {
        a: createUsers({ rate: 10, duration: '30s', preAllocatedVUs: 5, maxVUs: 5 }),
        later: createUsers({ rate: 1, duration: '1s', startTime: '20s' }),
      },
      (runner) => setTimeout(() => runner.abort(), 200),
    );
    expect(outcome.aborted).toBe(true);
    const [a, later] = outcome.scenarios;
    // Its iterations were still in their 2 s requests: left at once (interrupted), not awaited for gracefulStop.
    expect(a!.interrupted).toBeGreaterThan(0);
    expect(a!.offered).toBeLessThan(300);
    expect(later!.started).toBe(0);
  });
});
