import { EventLoopDelayMonitor } from './event-loop-delay';

function blockFor(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // Busy: the monitor's timer cannot run.
  }
}

// Resolves in the next timers phase, right after the monitor's overdue timer has run.
const nextTimers = () => new Promise((resolve) => setTimeout(resolve, 0));

const tick = () => new Promise((resolve) => setTimeout(resolve, 30));

/** Runs `body` with a started monitor, and stops it whatever happens. */
async function whileMonitoring(
  options: ConstructorParameters<typeof EventLoopDelayMonitor>[0],
  body: (monitor: EventLoopDelayMonitor) => Promise<void>,
): Promise<EventLoopDelayMonitor> {
  const monitor = new EventLoopDelayMonitor(options);
  monitor.start();
  try {
    await body(monitor);
  } finally {
    monitor.stop();
  }
  return monitor;
}

describe('EventLoopDelayMonitor', () => {
  it('reads 0 before it is started and after it is stopped', () => {
    const monitor = new EventLoopDelayMonitor();
    blockFor(30);
    expect(monitor.delayMs()).toBe(0);
    monitor.start();
    monitor.stop();
    expect(monitor.delayMs()).toBe(0);
  });

  it('sees a loop that stays late within two timer runs, even inside the second long iteration', async () => {
    await whileMonitoring({ intervalMs: 10 }, async (monitor) => {
      await tick();
      blockFor(80);
      await nextTimers();
      blockFor(100);
      // The timer ran 80 ms late once, and the pending run has waited at least 70 ms more.
      expect(monitor.delayMs()).toBeGreaterThanOrEqual(70);
    });
  });

  it('does not take one pause for overload', async () => {
    await whileMonitoring({ intervalMs: 10 }, async (monitor) => {
      await tick();
      blockFor(80);
      await nextTimers();
      expect(monitor.delayMs()).toBeLessThan(50);
    });
  });

  it('reads the loop busy while callbacks run, and idle while it waits for I/O', async () => {
    expect(new EventLoopDelayMonitor().utilization()).toBe(0);
    const monitor = await whileMonitoring({ intervalMs: 10, utilizationWindowMs: 100 }, async (monitor) => {
      // Late because the process is starved would look like this: waiting, yet the timers run late.
      await new Promise((resolve) => setTimeout(resolve, 250));
      expect(monitor.utilization()).toBeLessThan(0.5);
      // Long runs with short waits between: on a busy shared machine a wait may last longer than asked.
      for (let turn = 0; turn < 8; turn += 1) {
        blockFor(60);
        await nextTimers();
      }
      expect(monitor.utilization()).toBeGreaterThan(0.5);
    });
    expect(monitor.utilization()).toBe(0);
  });

  it('falls back once the loop is on time again', async () => {
    await whileMonitoring({ intervalMs: 10 }, async (monitor) => {
      blockFor(80);
      await tick();
      const deadline = Date.now() + 5000;
      while (monitor.delayMs() >= 50 && Date.now() < deadline) await tick();
      expect(monitor.delayMs()).toBeLessThan(50);
    });
  });
});
