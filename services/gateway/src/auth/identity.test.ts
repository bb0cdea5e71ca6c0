import { hasScopes, scopesFromClaims, SCOPES } from './identity';

describe('scopesFromClaims', () => {
  it('reads a space-separated `scope` string', () => {
    expect(scopesFromClaims({ scope: 'users:read  orders:write' })).toEqual(['users:read', 'orders:write']);
  });

  it('reads an `scp` array, and an `scp` string', () => {
    expect(scopesFromClaims({ scp: ['users:read', 'admin'] })).toEqual(['users:read', 'admin']);
    expect(scopesFromClaims({ scp: 'orders:read' })).toEqual(['orders:read']);
  });

  it('joins both claims, each scope once, and keeps scopes the gateway does not know', () => {
    expect(scopesFromClaims({ scope: 'users:read openid', scp: ['users:read', 'orders:read'] })).toEqual([
      'users:read',
      'openid',
      'orders:read',
    ]);
  });

  it('grants nothing for a missing claim or one of another shape', () => {
    expect(scopesFromClaims({})).toEqual([]);
    expect(scopesFromClaims({ scope: 42, scp: { admin: true } })).toEqual([]);
    expect(scopesFromClaims({ scp: ['users:read', 7, null, ''] })).toEqual(['users:read']);
  });
});

describe('hasScopes', () => {
  const caller = (...scopes: string[]) => ({ subject: 'ada', scopes });

  it('needs every required scope', () => {
    expect(hasScopes(caller('users:read', 'orders:read'), ['users:read', 'orders:read'])).toBe(true);
    expect(hasScopes(caller('users:read'), ['users:read', 'orders:read'])).toBe(false);
    expect(hasScopes(caller(), ['users:read'])).toBe(false);
    expect(hasScopes(caller(), [])).toBe(true);
  });

  it('lets admin through for any scope', () => {
    expect(hasScopes(caller('admin'), [...SCOPES])).toBe(true);
  });
});
