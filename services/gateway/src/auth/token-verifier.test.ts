import { startLocalIssuer, type LocalIssuer } from '@warren/launcher';
import { exportSPKI, generateKeyPair, importJWK, SignJWT, type CryptoKey, type JWK } from 'jose';
import { closedServerUrl, startStubServer } from '../../test/support/stub-server';
import { IdentityProviderUnavailableError, InvalidTokenError } from '../errors/http-errors';
import { createTokenVerifier, type TokenVerifierOptions } from './token-verifier';

// Real tokens from a real issuer over loopback HTTP: nothing of jose is mocked.

let issuer: LocalIssuer;

beforeAll(async () => {
  issuer = await startLocalIssuer();
});

afterAll(async () => {
  await issuer.close();
});

afterEach(() => {
  jest.useRealTimers();
});

const verifierFor = (options: Partial<TokenVerifierOptions> = {}) =>
  createTokenVerifier({ issuer: issuer.issuer, audience: issuer.audience, jwksUrl: issuer.jwksUrl, ...options });

/** What `verify` threw. */
async function refusal(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('the token was accepted');
}

async function expectInvalid(promise: Promise<unknown>, reason: RegExp): Promise<void> {
  const error = await refusal(promise);
  expect(error).toBeInstanceOf(InvalidTokenError);
  expect((error as InvalidTokenError).reason).toMatch(reason);
}

/** JWKS fetches made by `run`, counted by the issuer. */
async function fetchesDuring(run: () => Promise<unknown>): Promise<number> {
  const before = issuer.jwksRequests;
  await run();
  return issuer.jwksRequests - before;
}

/**
 * Fakes Date alone: jose's JWK Set cache and the tokens' `iat`/`exp` follow it, while sockets and timeouts run in
 * real time. Returns a function that moves the clock forward.
 */
function fakeClock(): (ms: number) => void {
  jest.useFakeTimers({
    now: Date.now(),
    doNotFake: [
      'hrtime',
      'nextTick',
      'performance',
      'queueMicrotask',
      'requestAnimationFrame',
      'cancelAnimationFrame',
      'requestIdleCallback',
      'cancelIdleCallback',
      'setImmediate',
      'clearImmediate',
      'setInterval',
      'clearInterval',
      'setTimeout',
      'clearTimeout',
    ],
  });
  return (ms) => jest.setSystemTime(Date.now() + ms);
}

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('createTokenVerifier', () => {
  it('returns the subject and the scopes of a valid token, from `scope` or from `scp`', async () => {
    const verifier = verifierFor();
    await expect(
      verifier.verify(await issuer.mint({ subject: 'ada', scopes: ['users:read', 'orders:write'] })),
    ).resolves.toEqual({ subject: 'ada', scopes: ['users:read', 'orders:write'] });
    const scp = await issuer.mint({ subject: 'grace', scopes: ['orders:read', 'admin'], scopeClaim: 'scp' });
    await expect(verifier.verify(scp)).resolves.toEqual({ subject: 'grace', scopes: ['orders:read', 'admin'] });
  });

  it('refuses a token expired for longer than the 30 s clock tolerance, and accepts one within it', async () => {
    const verifier = verifierFor();
    await expectInvalid(
      verifier.verify(await issuer.mint({ subject: 'ada', scopes: [], expiresInSeconds: -60 })),
      /ERR_JWT_EXPIRED/,
    );
    await expect(
      verifier.verify(await issuer.mint({ subject: 'ada', scopes: [], expiresInSeconds: -10 })),
    ).resolves.toMatchObject({ subject: 'ada' });
    await expectInvalid(
      verifierFor({ clockToleranceSeconds: 0 }).verify(
        await issuer.mint({ subject: 'ada', scopes: [], expiresInSeconds: -10 }),
      ),
      /ERR_JWT_EXPIRED/,
    );
  });

  it('refuses a token not valid yet (nbf beyond the tolerance)', async () => {
    const verifier = verifierFor();
    await expectInvalid(
      verifier.verify(await issuer.mint({ subject: 'ada', scopes: [], notBeforeInSeconds: 120 })),
      /"nbf" claim timestamp check failed/,
    );
    await expect(
      verifier.verify(await issuer.mint({ subject: 'ada', scopes: [], notBeforeInSeconds: 10 })),
    ).resolves.toMatchObject({ subject: 'ada' });
  });

  it('refuses a token from another issuer, or for another audience', async () => {
    const verifier = verifierFor();
    await expectInvalid(
      verifier.verify(await issuer.mint({ subject: 'ada', scopes: [], extra: { iss: 'https://evil.example' } })),
      /unexpected "iss" claim value/,
    );
    await expectInvalid(
      verifier.verify(await issuer.mint({ subject: 'ada', scopes: [], extra: { aud: 'another-api' } })),
      /unexpected "aud" claim value/,
    );
    const token = await issuer.mint({ subject: 'ada', scopes: [] });
    await expectInvalid(verifierFor({ audience: 'another-api' }).verify(token), /"aud"/);
    await expectInvalid(verifierFor({ issuer: `${issuer.issuer}/realms/other` }).verify(token), /"iss"/);
  });

  it('refuses a token signed by another key that claims the issuer’s kid', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    const forged = await new SignJWT({ sub: 'mallory', scope: 'admin', aud: issuer.audience })
      .setProtectedHeader({ alg: 'ES256', kid: issuer.kid })
      .setIssuer(issuer.issuer)
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(privateKey);
    await expectInvalid(verifierFor().verify(forged), /ERR_JWS_SIGNATURE_VERIFICATION_FAILED/);
  });

  it('refuses an unsigned token (alg none) without fetching any key', async () => {
    const now = Math.floor(Date.now() / 1000);
    const header = { alg: 'none', typ: 'JWT' };
    const claims = { iss: issuer.issuer, aud: issuer.audience, sub: 'mallory', scope: 'admin', exp: now + 3600 };
    const unsigned = `${base64url(header)}.${base64url(claims)}.`;
    const verifier = verifierFor();
    expect(await fetchesDuring(() => expectInvalid(verifier.verify(unsigned), /ERR_JOSE_ALG_NOT_ALLOWED/))).toBe(0);
  });

  it('refuses an HS256 token whose secret is the issuer’s public key (key confusion)', async () => {
    const jwks = (await (await fetch(issuer.jwksUrl)).json()) as { keys: JWK[] };
    const publicJwk = jwks.keys[0] as JWK;
    const pem = await exportSPKI((await importJWK(publicJwk, 'ES256')) as CryptoKey);
    const verifier = verifierFor();
    for (const secret of [JSON.stringify(publicJwk), pem]) {
      const confused = await new SignJWT({ sub: 'mallory', scope: 'admin', aud: issuer.audience })
        .setProtectedHeader({ alg: 'HS256', kid: issuer.kid })
        .setIssuer(issuer.issuer)
        .setExpirationTime('1h')
        .sign(new TextEncoder().encode(secret));
      await expectInvalid(verifier.verify(confused), /ERR_JOSE_ALG_NOT_ALLOWED/);
    }
  });

  it('refuses a token without `sub` or `exp`, or with a `sub` that is not a string', async () => {
    const verifier = verifierFor();
    await expectInvalid(
      verifier.verify(await issuer.mint({ subject: 'ada', scopes: [], extra: { sub: undefined } })),
      /missing required "sub" claim/,
    );
    await expectInvalid(
      verifier.verify(await issuer.mint({ subject: 'ada', scopes: [], extra: { exp: undefined } })),
      /missing required "exp" claim/,
    );
    await expectInvalid(
      verifier.verify(await issuer.mint({ subject: 'ada', scopes: [], extra: { sub: 42 } })),
      /"sub" claim is not a non-empty string/,
    );
  });

  it('refuses what is not a JWT at all', async () => {
    const verifier = verifierFor();
    await expectInvalid(verifier.verify('not-a-jwt'), /ERR_JWS_INVALID/);
    await expectInvalid(verifier.verify('a.b.c'), /ERR_JWS_INVALID/);
  });

  it('refetches the JWK Set once for an unknown kid, then refuses the token', async () => {
    const advance = fakeClock();
    const verifier = verifierFor();
    expect(await fetchesDuring(async () => verifier.verify(await issuer.mint({ subject: 'ada', scopes: [] })))).toBe(1);
    advance(31_000);
    const unknownKid = await issuer.mint({ subject: 'ada', scopes: [], kid: 'no-such-key' });
    expect(await fetchesDuring(() => expectInvalid(verifier.verify(unknownKid), /ERR_JWKS_NO_MATCHING_KEY/))).toBe(1);
  });

  it('lets a flood of unknown kids cause at most one refetch per cooldown', async () => {
    const advance = fakeClock();
    const verifier = verifierFor();
    await verifier.verify(await issuer.mint({ subject: 'ada', scopes: [] }));
    advance(31_000);
    const tokens = await Promise.all(
      Array.from({ length: 50 }, (_, index) => issuer.mint({ subject: 'ada', scopes: [], kid: `unknown-${index}` })),
    );
    // At once, then one after the other: one refetch in all.
    const flood = async () => {
      const outcomes = await Promise.all(tokens.map((token) => refusal(verifier.verify(token))));
      expect(outcomes.every((error) => error instanceof InvalidTokenError)).toBe(true);
      for (const token of tokens) await expectInvalid(verifier.verify(token), /ERR_JWKS_NO_MATCHING_KEY/);
    };
    expect(await fetchesDuring(flood)).toBe(1);
    advance(29_000);
    expect(await fetchesDuring(flood)).toBe(0);
    advance(2_000);
    expect(await fetchesDuring(flood)).toBe(1);
  });

  it('picks up a rotated key after the cooldown, and refuses tokens of the removed key', async () => {
    const advance = fakeClock();
    const verifier = verifierFor();
    const oldKeyToken = await issuer.mint({ subject: 'ada', scopes: [] });
    await expect(verifier.verify(oldKeyToken)).resolves.toMatchObject({ subject: 'ada' });
    await issuer.rotate();
    const newKeyToken = await issuer.mint({ subject: 'grace', scopes: [] });
    // Within the cooldown the cached set (old key only) is all there is.
    await expectInvalid(verifier.verify(newKeyToken), /ERR_JWKS_NO_MATCHING_KEY/);
    advance(31_000);
    expect(
      await fetchesDuring(() => expect(verifier.verify(newKeyToken)).resolves.toMatchObject({ subject: 'grace' })),
    ).toBe(1);
    await expectInvalid(verifier.verify(oldKeyToken), /ERR_JWKS_NO_MATCHING_KEY/);
  });

  it('finds the JWK Set through OIDC discovery when no URL is given', async () => {
    const verifier = createTokenVerifier({ issuer: issuer.issuer, audience: issuer.audience });
    await expect(verifier.verify(await issuer.mint({ subject: 'ada', scopes: ['users:read'] }))).resolves.toEqual({
      subject: 'ada',
      scopes: ['users:read'],
    });
  });

  it.each([
    ['HS256', ['HS256']],
    ['none', ['none']],
    ['HS512 among asymmetric ones', ['RS256', 'HS512']],
    ['an unknown algorithm', ['XS256']],
    ['no algorithm', []],
  ])('refuses to be built with %s', (_name, algorithms) => {
    expect(() => verifierFor({ algorithms })).toThrow(/algorithm/);
  });

  it('accepts only the algorithms it is given', async () => {
    await expectInvalid(
      verifierFor({ algorithms: ['RS256'] }).verify(await issuer.mint({ subject: 'ada', scopes: [] })),
      /ERR_JOSE_ALG_NOT_ALLOWED/,
    );
  });
});

describe('createTokenVerifier when the identity provider is unreachable', () => {
  async function unavailability(options: Partial<TokenVerifierOptions>): Promise<IdentityProviderUnavailableError> {
    const token = await issuer.mint({ subject: 'ada', scopes: [] });
    const error = await refusal(verifierFor(options).verify(token));
    expect(error).toBeInstanceOf(IdentityProviderUnavailableError);
    return error as IdentityProviderUnavailableError;
  }

  it('reports a JWK Set server that refuses connections as unavailable, not as a bad token', async () => {
    const error = await unavailability({ jwksUrl: `${await closedServerUrl()}/jwks` });
    expect(error.reason).toMatch(/fetch failed/);
    expect(error.status).toBe(503);
  });

  it('reports a JWK Set fetch that times out as unavailable', async () => {
    const silent = await startStubServer(() => undefined);
    try {
      const error = await unavailability({ jwksUrl: `${silent.url}/jwks`, jwksTimeoutMs: 50 });
      expect(error.reason).toMatch(/ERR_JWKS_TIMEOUT/);
    } finally {
      await silent.close();
    }
  });

  it.each([
    ['a 500', 500, '{"error":"boom"}', /ERR_JOSE_GENERIC: Expected 200 OK/],
    ['a body that is not JSON', 200, '<html>', /ERR_JOSE_GENERIC: Failed to parse/],
    ['JSON that is not a JWK Set', 200, '{"keys":"none"}', /ERR_JWKS_INVALID/],
  ])('reports %s from the JWK Set server as unavailable', async (_name, status, body, reason) => {
    const broken = await startStubServer((_req, res) => res.writeHead(status).end(body));
    try {
      expect((await unavailability({ jwksUrl: `${broken.url}/jwks` })).reason).toMatch(reason);
    } finally {
      await broken.close();
    }
  });

  it('reports a failed discovery as unavailable, and tries it again on the next token', async () => {
    let up = false;
    // An issuer whose discovery document is down at first; its keys are the local issuer's.
    const provider = await startStubServer((_req, res) => {
      if (!up) {
        res.writeHead(503).end();
        return;
      }
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ issuer: provider.url, jwks_uri: issuer.jwksUrl }));
    });
    try {
      const verifier = createTokenVerifier({ issuer: provider.url, audience: issuer.audience });
      const token = await issuer.mint({ subject: 'ada', scopes: [], extra: { iss: provider.url } });
      const error = await refusal(verifier.verify(token));
      expect(error).toBeInstanceOf(IdentityProviderUnavailableError);
      expect((error as IdentityProviderUnavailableError).reason).toMatch(/OIDC discovery failed: .* answered 503/);
      up = true;
      await expect(verifier.verify(token)).resolves.toMatchObject({ subject: 'ada' });
      expect(provider.requests).toBe(2);
    } finally {
      await provider.close();
    }
  });
});
