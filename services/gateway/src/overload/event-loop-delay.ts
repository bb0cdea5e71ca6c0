import { performance } from 'node:perf_hooks';

export interface EventLoopDelayOptions {
  /** How often the loop is asked to run a timer, in ms (default 10). */
  intervalMs?: number;
}

/**
 * How late the event loop has been running, read at any instant. A timer asks to run every `intervalMs`; the delay
 * is the smaller of its last two latenesses (or of the last one and the time the pending run has waited so far), so
 * one pause — a major garbage collection, the machine stalling once — is not taken for overload, while a loop
 * that stays late is seen within two timer runs. (`monitorEventLoopDelay` only reports after the fact, and
 * toobusy-js and overload-protection, which did this, are no longer kept.)
 */
export class EventLoopDelayMonitor {
  private readonly intervalMs: number;
  private timer: NodeJS.Timeout | undefined;
  private dueAt = 0;
  private lastDelayMs = 0;
  private previousDelayMs = 0;

  constructor(options: EventLoopDelayOptions = {}) {
    this.intervalMs = options.intervalMs ?? 10;
  }

  start(): void {
    if (this.timer) return;
    this.schedule();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.lastDelayMs = 0;
    this.previousDelayMs = 0;
  }

  /** The loop's sustained delay in ms: how late it was at each of its last two timer runs, whichever is less. */
  delayMs(): number {
    if (!this.timer) return 0;
    const pendingMs = performance.now() - this.dueAt;
    return Math.min(this.lastDelayMs, Math.max(this.previousDelayMs, pendingMs));
  }

  private schedule(): void {
    this.dueAt = performance.now() + this.intervalMs;
    this.timer = setTimeout(() => {
      this.previousDelayMs = this.lastDelayMs;
      this.lastDelayMs = Math.max(0, performance.now() - this.dueAt);
      this.schedule();
    }, this.intervalMs);
    // Measuring must never keep a stopping process alive.
    this.timer.unref();
  }
}
