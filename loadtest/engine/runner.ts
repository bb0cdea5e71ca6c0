/**
 * Runs a profile's scenarios side by side, as k6's arrival-rate executors do: each scenario starts iterations on
 * its schedule whatever happened to the earlier ones (open model), the first at once; an iteration needs a free
 * virtual user, and when every one allocated is busy it is dropped (dropped_iterations), never delayed, and one
 * more is initialized, up to maxVUs. After its schedule a scenario waits up to `gracefulStop` (default 30 s) for
 * the iterations still running; those left are interrupted. An abort stops everything at once.
 */
import { parseDuration } from '../lib/duration.ts';
import { flowOf, type FlowContext } from '../lib/flows.ts';
import type { Flow } from '../lib/http-types.ts';
import type { Profile, ScenarioData, ScenarioDefinition } from '../lib/profiles.ts';
import type { HttpSender } from './http-sender.ts';
import type { MetricRegistry, Tags } from './metrics.ts';
import { ScenarioSchedule } from './schedule.ts';

/** Check name → passes and fails, in the order first seen (the summary's CHECKS). */
export type CheckCounts = Map<string, { passes: number; fails: number }>;

/** What a scenario was asked for and what it did: the offered and the achieved rate. */
export interface ScenarioOutcome {
  name: string;
  /** Iterations its schedule made due. */
  offered: number;
  started: number;
  dropped: number;
  completed: number;
  /** Still running when gracefulStop ran out. */
  interrupted: number;
  seconds: number;
}

export interface RunOutcome {
  durationMs: number;
  scenarios: ScenarioOutcome[];
  aborted: boolean;
}

const TICK_MS = 5;
/** How long a virtual user takes to initialize when a scenario needs one more than it has. */
const VU_INIT_MS = 50;
const MAX_ERRORS_LOGGED = 5;

export class ProfileRunner {
  private busy = 0;
  private stopped = false;
  /** Iterations that threw. */
  iterationErrors = 0;
  readonly checks: CheckCounts = new Map();

  constructor(
    private readonly data: ScenarioData,
    private readonly sender: HttpSender,
    private readonly metrics: MetricRegistry,
    private readonly runId: string,
  ) {}

  /** Stops every scenario at once (abortOnFail). */
  abort(): void {
    this.stopped = true;
  }

  async run(profile: Profile): Promise<RunOutcome> {
    const startedAt = performance.now();
    const vus = setInterval(() => this.metrics.add('vus', this.busy, {}), 1000);
    try {
      const scenarios = await Promise.all(
        Object.entries(profile.scenarios).map(([name, scenario]) => this.runScenario(name, scenario)),
      );
      return { durationMs: performance.now() - startedAt, scenarios, aborted: this.stopped };
    } finally {
      clearInterval(vus);
    }
  }

  private async runScenario(name: string, scenario: ScenarioDefinition): Promise<ScenarioOutcome> {
    const schedule = new ScenarioSchedule(scenario);
    const tags: Tags = { scenario: name, flow: scenario.flow };
    await this.sleep(scenario.startTime ? parseDuration(scenario.startTime) : 0);
    const mine = new Set<Promise<void>>();
    let busy = 0;
    // As k6: preAllocatedVUs ready at the start; an iteration due when every allocated one is busy is dropped,
    // and (up to maxVUs) one more is initialized for the iterations after it.
    let allocated = scenario.preAllocatedVUs;
    let initializing = 0;
    let due = 0;
    let started = 0;
    let dropped = 0;
    let completed = 0;
    const total = schedule.totalIterations;
    const startedAt = performance.now();
    await new Promise<void>((resolve) => {
      const tick = (): void => {
        if (this.stopped) return resolve();
        const elapsedSeconds = (performance.now() - startedAt) / 1000;
        // k6 starts the first iteration at once: iteration i is due at the time i iterations were.
        const dueNow = Math.min(total, Math.floor(schedule.dueBy(elapsedSeconds)) + 1);
        for (; due < dueNow; due++) {
          if (busy >= allocated) {
            dropped++;
            this.metrics.add('dropped_iterations', 1, tags);
            if (allocated + initializing < scenario.maxVUs) {
              initializing++;
              setTimeout(() => {
                initializing--;
                allocated++;
              }, VU_INIT_MS).unref();
            }
            continue;
          }
          busy++;
          this.busy++;
          started++;
          const iteration = this.iterate(this.newFlow(name, scenario, due), tags)
            .then((done) => {
              if (done) completed++;
            })
            .catch((error: unknown) => this.iterationFailed(name, error))
            .finally(() => {
              busy--;
              this.busy--;
              mine.delete(iteration);
            });
          mine.add(iteration);
        }
        // The schedule runs its whole length (a ramp down to 0 ends with nothing due), then gracefulStop.
        if (elapsedSeconds < schedule.totalSeconds) setTimeout(tick, TICK_MS);
        else resolve();
      };
      tick();
    });
    const graceMs = this.stopped ? 0 : parseDuration(scenario.gracefulStop ?? '30s');
    const interrupted = await Promise.race([
      Promise.all(mine).then(() => 0),
      new Promise<number>((resolve) => setTimeout(() => resolve(mine.size), graceMs).unref()),
    ]);
    const seconds = (performance.now() - startedAt) / 1000;
    return { name, offered: due, started, dropped, completed, interrupted, seconds };
  }

  /** An exception in an iteration (a check that throws, say): reported, counted, the run goes on, as in k6. */
  private iterationFailed(scenario: string, error: unknown): void {
    this.iterationErrors++;
    if (this.iterationErrors <= MAX_ERRORS_LOGGED) {
      process.stderr.write(
        `[loadtest] scenario ${scenario}: iteration failed: ${(error as Error).stack ?? String(error)}\n`,
      );
    }
  }

  /** Waits `ms`, or less if the run is aborted meanwhile. */
  private async sleep(ms: number): Promise<void> {
    const until = performance.now() + ms;
    while (!this.stopped && performance.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(100, until - performance.now())));
    }
  }

  private newFlow(name: string, scenario: ScenarioDefinition, iteration: number): Flow {
    let calls = 0;
    const context: FlowContext = {
      unique: () => `${this.runId}-${name}-${iteration}-${calls++}`,
      random: Math.random,
    };
    return flowOf(scenario.flow, context, this.data.mix);
  }

  /** Resolves true when the iteration ran to its end (false: stopped by an abort). */
  private async iterate(flow: Flow, tags: Tags): Promise<boolean> {
    const startedAt = performance.now();
    for (let step = flow.next(); !step.done;) {
      if (this.stopped) return false;
      const { request, checks } = step.value;
      const response = await this.sender.send(request, tags);
      for (const [check, passed] of Object.entries(checks(response))) {
        this.metrics.add('checks', passed ? 1 : 0, { ...tags, name: request.tags.name, check });
        const counts = this.checks.get(check) ?? { passes: 0, fails: 0 };
        if (passed) counts.passes++;
        else counts.fails++;
        this.checks.set(check, counts);
      }
      step = flow.next(response);
    }
    this.metrics.add('iterations', 1, tags);
    this.metrics.add('iteration_duration', performance.now() - startedAt, tags);
    return true;
  }
}
