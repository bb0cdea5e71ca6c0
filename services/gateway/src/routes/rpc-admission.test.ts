import { Registry } from 'prom-client';
import { GatewayOverloadedError } from '../errors/http-errors';
import { RpcAdmission } from './rpc-admission';

function deferred() {
  let resolve: (value: string) => void = () => undefined;
  let reject: (error: Error) => void = () => undefined;
  const promise = new Promise<string>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('RpcAdmission', () => {
  it('admits up to the limit, refuses past it without running the call, and counts what it refused', async () => {
    const registry = new Registry();
    const admission = new RpcAdmission(2, registry);
    const first = deferred();
    const second = deferred();
    const running = [admission.run('users.get', () => first.promise), admission.run('users.get', () => second.promise)];
    expect(admission.count).toBe(2);

    const refused = jest.fn(() => Promise.resolve('never'));
    await expect(admission.run('users.create', refused)).rejects.toBeInstanceOf(GatewayOverloadedError);
    expect(refused).not.toHaveBeenCalled();
    expect(await registry.getSingleMetricAsString('gateway_rpc_shed_total')).toContain(
      'gateway_rpc_shed_total{route="users.create"} 1',
    );
    expect(await registry.getSingleMetricAsString('gateway_rpc_in_flight')).toContain('gateway_rpc_in_flight 2');

    first.resolve('ok');
    second.reject(new Error('worker failed'));
    await expect(running[0]).resolves.toBe('ok');
    await expect(running[1]).rejects.toThrow('worker failed');
    expect(admission.count).toBe(0);
    await expect(admission.run('users.get', () => Promise.resolve('again'))).resolves.toBe('again');
  });

  it('refuses requests on arrival while the limit is reached, and lets them through otherwise', async () => {
    const registry = new Registry();
    const admission = new RpcAdmission(1, registry);
    const gate = admission.shedOnArrival();
    const passed = jest.fn();
    gate({} as never, {} as never, passed);
    expect(passed).toHaveBeenCalledWith();

    const held = deferred();
    const running = admission.run('users.get', () => held.promise);
    const refused = jest.fn();
    gate({} as never, {} as never, refused);
    expect(refused).toHaveBeenCalledWith(expect.any(GatewayOverloadedError));
    expect(await registry.getSingleMetricAsString('gateway_rpc_shed_total')).toContain(
      'gateway_rpc_shed_total{route="*"} 1',
    );
    held.resolve('done');
    await running;
  });

  it('answers a refused call with 503 and Retry-After', () => {
    const error = new GatewayOverloadedError();
    expect(error).toMatchObject({ status: 503, slug: 'overloaded', headers: { 'Retry-After': '1' } });
  });

  it('refuses a limit that is not a positive integer', () => {
    expect(() => new RpcAdmission(0, new Registry())).toThrow(RangeError);
  });
});
