import { decodeReply, encodeError, encodeResult } from './envelope';
import { RpcError, RpcRemoteError } from './errors';

describe('reply envelopes', () => {
  it('round-trips a result', () => {
    expect(decodeReply('users.get', encodeResult({ id: 'u1' }))).toEqual({ id: 'u1' });
  });

  it('carries an RpcError as a remote error with the same code, message, details and retriability', () => {
    const body = encodeError(new RpcError('conflict', 'email taken', { details: { field: 'email' } }));
    let thrown: unknown;
    try {
      decodeReply('users.create', body);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(RpcRemoteError);
    expect(thrown).toMatchObject({
      code: 'conflict',
      message: 'email taken',
      details: { field: 'email' },
      retriable: false,
      route: 'users.create',
    });
  });

  it('turns any other error into a bare internal error: no message, no stack on the wire', () => {
    const error = new Error('password=hunter2 at db.ts:10');
    const wire = encodeError(error).toString();
    expect(JSON.parse(wire)).toEqual({
      ok: false,
      error: { code: 'internal', message: 'internal error', retriable: false },
    });
    expect(wire).not.toContain('hunter2');
    expect(wire).not.toContain('db.ts');
  });

  it('maps an unknown remote code to internal and rejects malformed replies', () => {
    const unknownCode = Buffer.from(
      JSON.stringify({ ok: false, error: { code: 'teapot', message: 'x', retriable: true } }),
    );
    expect(() => decodeReply('r.x', unknownCode)).toThrow(
      expect.objectContaining({ code: 'internal', retriable: true }),
    );
    expect(() => decodeReply('r.x', Buffer.from('not json'))).toThrow(/undecodable reply/);
    expect(() => decodeReply('r.x', Buffer.from('{"ok":false}'))).toThrow(/malformed reply/);
  });
});
