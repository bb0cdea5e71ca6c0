import { DEFAULT_INITIAL_RECONNECT_DELAY_MS, DEFAULT_MAX_RECONNECT_DELAY_MS, reconnectDelayMs } from './reconnect';

const defaults = { initialDelayMs: DEFAULT_INITIAL_RECONNECT_DELAY_MS, maxDelayMs: DEFAULT_MAX_RECONNECT_DELAY_MS };
/** The jitter drawn at its middle (none), its bottom (−20%) and its top (+20%). */
const middle = () => 0.5;
const bottom = () => 0;
const top = () => 1;

describe('reconnectDelayMs', () => {
  it('after a drop: the first attempt at once, then 100 ms doubling, the base held at 1000 / 1.2 ms', () => {
    const waits = [1, 2, 3, 4, 5, 6, 7, 50].map((attempt) => reconnectDelayMs(attempt, true, defaults, middle));
    expect(waits).toEqual([0, 100, 200, 400, 800, 833, 833, 833]);
  });

  it('after a failed first connect, or a drop of a connection that keeps dropping: 100 ms first, no wait at once', () => {
    const waits = [1, 2, 3, 4, 5, 6].map((attempt) => reconnectDelayMs(attempt, false, defaults, middle));
    expect(waits).toEqual([100, 200, 400, 800, 833, 833]);
  });

  it('jitters each wait by ± 20% and never waits longer than the cap', () => {
    expect(reconnectDelayMs(2, true, defaults, bottom)).toBe(80);
    expect(reconnectDelayMs(2, true, defaults, top)).toBe(120);
    expect(reconnectDelayMs(50, true, defaults, bottom)).toBe(667);
    expect(reconnectDelayMs(50, true, defaults, top)).toBe(1000);
    for (let attempt = 1; attempt < 200; attempt++) {
      expect(reconnectDelayMs(attempt, false, defaults)).toBeLessThanOrEqual(DEFAULT_MAX_RECONNECT_DELAY_MS);
    }
  });

  it('keeps the attempts apart once a broker has been down long: no wait shorter than 2/3 of the cap', () => {
    for (let attempt = 6; attempt < 200; attempt++) {
      expect(reconnectDelayMs(attempt, true, defaults)).toBeGreaterThanOrEqual(667);
    }
  });

  it('takes its own initial delay and cap; a cap below the initial delay is raised to it (as amqplib does)', () => {
    expect(reconnectDelayMs(2, true, { initialDelayMs: 50, maxDelayMs: 300 }, middle)).toBe(50);
    expect(reconnectDelayMs(9, true, { initialDelayMs: 50, maxDelayMs: 300 }, top)).toBe(300);
    expect(reconnectDelayMs(3, true, { initialDelayMs: 500, maxDelayMs: 100 }, top)).toBe(500);
  });
});
