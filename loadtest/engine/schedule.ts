/**
 * When a scenario's iterations are due, open model: constant-arrival-rate is one bench ArrivalSchedule, a
 * ramping-arrival-rate one per stage (each a linear ramp from the previous target), laid end to end.
 */
import { ArrivalSchedule } from '@warren/bench';
import { parseDuration } from '../lib/duration.ts';
import type { ScenarioDefinition } from '../lib/profiles.ts';

export class ScenarioSchedule {
  private readonly segments: { startSeconds: number; before: number; schedule: ArrivalSchedule }[] = [];
  readonly totalSeconds: number;

  constructor(scenario: ScenarioDefinition) {
    const perSecond = 1000 / parseDuration(scenario.timeUnit ?? '1s');
    const stages =
      scenario.executor === 'constant-arrival-rate'
        ? [{ from: scenario.rate, to: scenario.rate, seconds: parseDuration(scenario.duration) / 1000 }]
        : scenario.stages.map((stage, index, all) => ({
            from: index === 0 ? (scenario.startRate ?? 0) : all[index - 1]!.target,
            to: stage.target,
            seconds: parseDuration(stage.duration) / 1000,
          }));
    let startSeconds = 0;
    let before = 0;
    for (const { from, to, seconds } of stages) {
      const schedule = new ArrivalSchedule(from * perSecond, to * perSecond, from === to ? 0 : seconds, seconds);
      this.segments.push({ startSeconds, before, schedule });
      startSeconds += seconds;
      before += schedule.dueBy(seconds);
    }
    this.totalSeconds = startSeconds;
  }

  /** Iterations due by `seconds` after the scenario's start (fractional). */
  dueBy(seconds: number): number {
    let due = 0;
    for (const segment of this.segments) {
      if (seconds < segment.startSeconds) break;
      due = segment.before + segment.schedule.dueBy(seconds - segment.startSeconds);
    }
    return due;
  }

  get totalIterations(): number {
    return Math.floor(this.dueBy(this.totalSeconds));
  }
}
