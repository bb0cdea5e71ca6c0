import { performance, type EventLoopUtilization } from 'node:perf_hooks';

export interface EventLoopDelayOptions {
  /** How often the loop is asked to run a timer, in ms (default 10). */
  intervalMs?: number;
  /** Utilization is read over the last one to two of these windows, in ms (default 500). */
  utilizationWindowMs?: number;
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
  private readonly utilizationWindowMs: number;
  // Two marks, so a reading always spans at least one whole window.
  private windowStart: EventLoopUtilization | undefined;
  private currentWindow: EventLoopUtilization | undefined;
  private currentWindowAt = 0;

  constructor(options: EventLoopDelayOptions = {}) {
    this.intervalMs = options.intervalMs ?? 10;
    this.utilizationWindowMs = options.utilizationWindowMs ?? 500;
  }

  start(): void {
    if (this.timer) return;
    this.windowStart = this.currentWindow = performance.eventLoopUtilization();
    this.currentWindowAt = performance.now();
    this.schedule();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.lastDelayMs = 0;
    this.previousDelayMs = 0;
    this.windowStart = this.currentWindow = undefined;
  }

  /** The loop's sustained delay in ms: how late it was at each of its last two timer runs, whichever is less. */
  delayMs(): number {
    if (!this.timer) return 0;
    const pendingMs = performance.now() - this.dueAt;
    return Math.min(this.lastDelayMs, Math.max(this.previousDelayMs, pendingMs));
  }

  /**
   * The share (0 to 1) of the last 0.5 to 1 s the loop spent running callbacks rather than waiting for I/O. A loop
   * that is late while mostly idle is being starved by the machine (a pod starting beside it), not by its own
   * requests, and refusing them would not help.
   */
  utilization(): number {
    if (!this.windowStart) return 0;
    return performance.eventLoopUtilization(performance.eventLoopUtilization(), this.windowStart).utilization;
  }

  private schedule(): void {
    this.dueAt = performance.now() + this.intervalMs;
    this.timer = setTimeout(() => {
      this.previousDelayMs = this.lastDelayMs;
      const now = performance.now();
      this.lastDelayMs = Math.max(0, now - this.dueAt);
      if (now - this.currentWindowAt >= this.utilizationWindowMs) {
        this.windowStart = this.currentWindow;
        this.currentWindow = performance.eventLoopUtilization();
        this.currentWindowAt = now;
      }
      this.schedule();
    }, this.intervalMs);
    // Measuring must never keep a stopping process alive.
    this.timer.unref();
  }
}
