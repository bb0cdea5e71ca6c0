import { decodeProtectedHeader, decodeJwt } from 'jose';
import { startLocalIssuer } from './local-issuer';

describe('startLocalIssuer', () => {
  it('serves its discovery document and a JWK Set holding only the current key', async () => {
    const issuer = await startLocalIssuer({ audience: 'orders-api' });
    try {
      expect(issuer.issuer).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const discovery = await (await fetch(`${issuer.issuer}/.well-known/openid-configuration`)).json();
      expect(discovery).toMatchObject({
        issuer: issuer.issuer,
        jwks_uri: issuer.jwksUrl,
        id_token_signing_alg_values_supported: ['ES256'],
      });
      const kids = async () =>
        ((await (await fetch(issuer.jwksUrl)).json()) as { keys: { kid: string; d?: string }[] }).keys;
      const before = issuer.kid;
      expect(await kids()).toEqual([expect.objectContaining({ kid: before, kty: 'EC', alg: 'ES256', use: 'sig' })]);
      await issuer.rotate();
      expect(issuer.kid).not.toBe(before);
      const after = await kids();
      expect(after.map((key) => key.kid)).toEqual([issuer.kid]);
      expect(after[0]).not.toHaveProperty('d');
      expect(issuer.jwksRequests).toBe(2);
      expect((await fetch(`${issuer.issuer}/token`)).status).toBe(404);
      expect((await fetch(issuer.jwksUrl, { method: 'POST' })).status).toBe(405);
    } finally {
      await issuer.close();
    }
  });

  it('mints tokens with its issuer, audience and key, and the claims asked for', async () => {
    const issuer = await startLocalIssuer();
    try {
      const token = await issuer.mint({
        subject: 'ada',
        scopes: ['users:read', 'orders:read'],
        expiresInSeconds: 60,
        notBeforeInSeconds: -5,
        extra: { tenant: 'acme', jti: undefined },
      });
      expect(decodeProtectedHeader(token)).toEqual({ alg: 'ES256', typ: 'at+jwt', kid: issuer.kid });
      const claims = decodeJwt(token);
      expect(claims).toMatchObject({
        iss: issuer.issuer,
        aud: 'warren',
        sub: 'ada',
        scope: 'users:read orders:read',
        tenant: 'acme',
      });
      expect(claims.exp! - claims.iat!).toBe(60);
      expect(claims.nbf! - claims.iat!).toBe(-5);
      expect(claims).not.toHaveProperty('jti');
      const scp = decodeJwt(await issuer.mint({ subject: 'ada', scopes: ['admin'], scopeClaim: 'scp', kid: 'k' }));
      expect(scp).toMatchObject({ scp: ['admin'] });
      expect(scp).not.toHaveProperty('scope');
    } finally {
      await issuer.close();
    }
  });

  it('refuses to listen anywhere but loopback', async () => {
    await expect(startLocalIssuer({ host: '0.0.0.0' })).rejects.toThrow(/loopback only/);
    await expect(startLocalIssuer({ host: '192.168.1.10' })).rejects.toThrow(/loopback only/);
  });
});
