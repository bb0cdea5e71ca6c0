import { CALLER_SCOPES_HEADER, CALLER_SUBJECT_HEADER, callerOf, confinedSubjectOf, writeCaller } from './caller';
import { InvalidCallerError } from './errors';

describe('caller headers', () => {
  it('round-trips a caller through message headers', () => {
    const headers: Record<string, unknown> = {};
    writeCaller(headers, { subject: 'alice', scopes: ['users:read', 'orders:write'] });
    expect(headers).toEqual({ [CALLER_SUBJECT_HEADER]: 'alice', [CALLER_SCOPES_HEADER]: 'users:read orders:write' });
    expect(callerOf(headers)).toEqual({ subject: 'alice', scopes: ['users:read', 'orders:write'] });
  });

  it('reads no caller from a message that names none, and a caller without scopes as having none', () => {
    expect(callerOf({})).toBeUndefined();
    expect(callerOf({ [CALLER_SUBJECT_HEADER]: 'bob' })).toEqual({ subject: 'bob', scopes: [] });
  });

  it('refuses caller headers it cannot use instead of treating the call as made by no one', () => {
    for (const headers of [
      { [CALLER_SUBJECT_HEADER]: '' },
      { [CALLER_SUBJECT_HEADER]: 42 },
      { [CALLER_SUBJECT_HEADER]: 'x'.repeat(256) },
      { [CALLER_SUBJECT_HEADER]: 'car\u0000ol' },
      { [CALLER_SCOPES_HEADER]: 'admin' },
      { [CALLER_SUBJECT_HEADER]: 'carol', [CALLER_SCOPES_HEADER]: ['admin'] },
    ]) {
      expect(() => callerOf(headers)).toThrow(InvalidCallerError);
    }
  });

  it('confines a caller to its own subject unless it is an admin or there is no caller', () => {
    expect(confinedSubjectOf({ subject: 'alice', scopes: ['users:read', 'users:write'] })).toBe('alice');
    expect(confinedSubjectOf({ subject: 'alice', scopes: [] })).toBe('alice');
    expect(confinedSubjectOf({ subject: 'ops', scopes: ['admin'] })).toBeUndefined();
    expect(confinedSubjectOf(undefined)).toBeUndefined();
  });
});
