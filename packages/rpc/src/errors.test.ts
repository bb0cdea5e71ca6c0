import { z } from 'zod';
import { RpcAbortedError, RpcError, RpcNoRouteError, RpcTimeoutError, RpcUnavailableError } from './errors';
import { defineRoute } from './route';

describe('RpcError', () => {
  it('marks infrastructure failures retriable and application failures not', () => {
    expect(new RpcTimeoutError('users.get', 100)).toMatchObject({ code: 'deadline_exceeded', retriable: true });
    expect(new RpcNoRouteError('users.get')).toMatchObject({ code: 'no_route', retriable: true });
    expect(new RpcUnavailableError('down')).toMatchObject({ code: 'unavailable', retriable: true });
    expect(new RpcAbortedError('users.get')).toMatchObject({ code: 'aborted', retriable: false });
    expect(new RpcError('not_found', 'gone')).toMatchObject({ code: 'not_found', retriable: false });
    expect(new RpcError('conflict', 'busy', { retriable: true }).retriable).toBe(true);
  });

  it('names each subclass after itself', () => {
    expect(new RpcTimeoutError('a.b', 5).name).toBe('RpcTimeoutError');
    expect(new RpcTimeoutError('a.b', 5)).toBeInstanceOf(RpcError);
  });
});

describe('defineRoute', () => {
  it('accepts dotted lower camel case names and rejects others', () => {
    const schemas = { request: z.object({}), reply: z.object({}) };
    expect(defineRoute('orders.listByUser', schemas).name).toBe('orders.listByUser');
    expect(() => defineRoute('Orders', schemas)).toThrow(TypeError);
    expect(() => defineRoute('users.get#', schemas)).toThrow(TypeError);
  });
});
