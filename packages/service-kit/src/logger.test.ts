import { context, propagation, ROOT_CONTEXT } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CBaggagePropagator } from '@opentelemetry/core';
import { createLogger } from './logger';
import { activeRequestId, contextWithRequestId, REQUEST_ID_BAGGAGE_KEY, withRequestId } from './request-context';

describe('createLogger and the request id in the context', () => {
  const raw: string[] = [];
  const logger = createLogger({
    service: 'svc',
    level: 'info',
    pretty: false,
    destination: { write: (line: string) => void raw.push(line) },
  });
  const lines = () => raw.map((line) => JSON.parse(line) as Record<string, unknown>);

  beforeAll(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CBaggagePropagator());
  });
  afterAll(() => {
    propagation.disable();
    context.disable();
  });
  beforeEach(() => {
    raw.length = 0;
  });

  it('puts requestId on lines written in a request’s context, and only there', async () => {
    await withRequestId('req-1', async () => {
      await new Promise((resolve) => setImmediate(resolve));
      logger.info({ orderId: 'o-1' }, 'inside');
    });
    logger.info('outside');
    expect(lines()).toEqual([
      expect.objectContaining({ service: 'svc', requestId: 'req-1', orderId: 'o-1', msg: 'inside' }),
      expect.not.objectContaining({ requestId: expect.anything() }),
    ]);
  });

  it('lets a field of the call or a child logger’s binding win, without a duplicate key', () => {
    withRequestId('from-context', () => {
      logger.info({ requestId: 'explicit' }, 'explicit');
      const child = logger.child({ requestId: 'bound' });
      child.info('child');
      child.child({ route: 'x' }).info('grandchild');
    });
    expect(lines().map((line) => line.requestId)).toEqual(['explicit', 'bound', 'bound']);
    for (const line of raw) expect(line.match(/"requestId"/g)).toHaveLength(1);
  });

  it('reads it in a worker from the baggage the caller’s headers carried', () => {
    // What RpcClient (propagation.inject) and RpcServer (propagation.extract) do with the AMQP headers.
    const headers: Record<string, string> = {};
    withRequestId('req-over-rpc', () => propagation.inject(context.active(), headers));
    expect(headers.baggage).toBe(`${REQUEST_ID_BAGGAGE_KEY}=req-over-rpc`);
    const handlerContext = propagation.extract(ROOT_CONTEXT, headers);
    context.with(handlerContext, () => logger.info('in the handler'));
    expect(lines()[0]).toMatchObject({ requestId: 'req-over-rpc', msg: 'in the handler' });
  });

  it('drops whatever baggage the caller sent: only the request id travels on', () => {
    const incoming = propagation.setBaggage(
      ROOT_CONTEXT,
      propagation.createBaggage({ tenant: { value: 'evil' }, [REQUEST_ID_BAGGAGE_KEY]: { value: 'forged' } }),
    );
    const replaced = contextWithRequestId(incoming, 'req-2');
    expect(propagation.getBaggage(replaced)?.getAllEntries()).toEqual([[REQUEST_ID_BAGGAGE_KEY, { value: 'req-2' }]]);
    expect(context.with(replaced, activeRequestId)).toBe('req-2');
  });
});
