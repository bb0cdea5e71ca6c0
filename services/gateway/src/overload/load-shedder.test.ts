import type { IncomingMessage } from 'node:http';
import type { EventLoopDelayMonitor } from './event-loop-delay';
import { LoadShedder } from './load-shedder';

function loopLateBy(delays: number[], utilization = 1): EventLoopDelayMonitor {
  return { delayMs: () => delays.shift() ?? 0, utilization: () => utilization } as unknown as EventLoopDelayMonitor;
}

const requestTo = (url: string) => ({ url }) as IncomingMessage;

describe('LoadShedder', () => {
  it('refuses an API request while the loop is later than the bound, and takes it otherwise', () => {
    const shedder = new LoadShedder({ eventLoopDelay: loopLateBy([80, 20]), maxEventLoopDelayMs: 50 });
    expect(shedder.refusalDelayOf(requestTo('/v1/users'))).toBe(80);
    expect(shedder.refusalDelayOf(requestTo('/v1/users'))).toBeUndefined();
  });

  it('takes a late loop that is mostly idle for a starved machine, not for overload', () => {
    const starved = new LoadShedder({ eventLoopDelay: loopLateBy([80], 0.1), maxEventLoopDelayMs: 50 });
    expect(starved.refusalDelayOf(requestTo('/v1/users'))).toBeUndefined();
    const halfBusy = new LoadShedder({ eventLoopDelay: loopLateBy([80], 0.5), maxEventLoopDelayMs: 50 });
    expect(halfBusy.refusalDelayOf(requestTo('/v1/users'))).toBe(80);
    const strict = new LoadShedder({
      eventLoopDelay: loopLateBy([80], 0.5),
      maxEventLoopDelayMs: 50,
      minEventLoopUtilization: 0.9,
    });
    expect(strict.refusalDelayOf(requestTo('/v1/users'))).toBeUndefined();
  });

  it('decides once per request, so the tracing hook and the middleware agree', () => {
    const shedder = new LoadShedder({ eventLoopDelay: loopLateBy([80, 0, 0]), maxEventLoopDelayMs: 50 });
    const request = requestTo('/v1/orders');
    expect(shedder.refusalDelayOf(request)).toBe(80);
    expect(shedder.refusalDelayOf(request)).toBe(80);
    const taken = requestTo('/v1/orders');
    expect(shedder.refusalDelayOf(taken)).toBeUndefined();
    expect(shedder.refusalDelayOf(taken)).toBeUndefined();
  });

  it('never refuses the operations endpoints, and never anything at 0', () => {
    const late = () => loopLateBy([1000, 1000, 1000]);
    const shedder = new LoadShedder({ eventLoopDelay: late(), maxEventLoopDelayMs: 50 });
    for (const url of ['/healthz', '/readyz', '/metrics', '/openapi.json']) {
      expect(shedder.refusalDelayOf(requestTo(url))).toBeUndefined();
    }
    const off = new LoadShedder({ eventLoopDelay: late(), maxEventLoopDelayMs: 0 });
    expect(off.refusalDelayOf(requestTo('/v1/users'))).toBeUndefined();
  });
});
