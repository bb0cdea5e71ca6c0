import { Registry } from 'prom-client';
import { z } from 'zod';
import { defineRoute } from './route';
import { RpcServer } from './server';

describe('RpcServer metrics', () => {
  it("exports each route's expiry and dead-letter counters at zero as soon as the route is handled", async () => {
    const registry = new Registry();
    const route = defineRoute('test.zeroes', { request: z.object({}), reply: z.object({}) });
    // handle() only registers: no broker is needed.
    new RpcServer({ url: 'amqp://127.0.0.1:1', connectionName: 'unit', registry }).handle(route, () => ({}));

    const samples = async (name: string) => (await registry.getSingleMetric(name)!.get()).values;
    expect(await samples('rpc_server_expired_total')).toEqual([{ labels: { route: 'test.zeroes' }, value: 0 }]);
    const deadLettered = await samples('rpc_server_dead_lettered_total');
    expect(deadLettered.map(({ labels, value }) => [labels.reason, labels.route, value]).sort()).toEqual([
      ['invalid_payload', 'test.zeroes', 0],
      ['missing_reply_to', 'test.zeroes', 0],
      ['undecodable', 'test.zeroes', 0],
    ]);
  });
});
