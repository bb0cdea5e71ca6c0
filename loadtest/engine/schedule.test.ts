import { ScenarioSchedule } from './schedule.ts';

const base = { flow: 'mix' as const, preAllocatedVUs: 1, maxVUs: 10 };

describe('ScenarioSchedule', () => {
  it('spreads a constant arrival rate over its duration, per time unit', () => {
    const schedule = new ScenarioSchedule({
      ...base,
      executor: 'constant-arrival-rate',
      rate: 30,
      timeUnit: '1m',
      duration: '2m',
    });
    expect(schedule.totalSeconds).toBe(120);
    expect(schedule.dueBy(60)).toBeCloseTo(30);
    expect(schedule.totalIterations).toBe(60);
  });

  it('ramps linearly stage by stage from startRate, each from the previous target', () => {
    const schedule = new ScenarioSchedule({
      ...base,
      executor: 'ramping-arrival-rate',
      startRate: 0,
      stages: [
        { target: 10, duration: '10s' },
        { target: 10, duration: '5s' },
        { target: 0, duration: '10s' },
      ],
    });
    expect(schedule.totalSeconds).toBe(25);
    expect(schedule.dueBy(10)).toBeCloseTo(50); // the area of the first ramp
    expect(schedule.dueBy(15)).toBeCloseTo(100);
    expect(schedule.totalIterations).toBe(150);
    expect(schedule.dueBy(5)).toBeCloseTo(12.5);
  });
});
