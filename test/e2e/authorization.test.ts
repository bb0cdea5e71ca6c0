import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { startLocalIssuer, type LocalIssuer } from '@warren/launcher';
import { CALLER_SCOPES_HEADER, CALLER_SUBJECT_HEADER } from '@warren/rpc';
import { connect, type Channel } from 'amqplib';
import { SignJWT } from 'jose';
import { api, uniqueEmail, type ApiResponse } from './support/http';
import { startRunningSuite } from './support/running-suite';

jest.setTimeout(60_000);

const USER_SCOPES = ['users:read', 'users:write', 'orders:read', 'orders:write'];
const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const items = [{ sku: 'BOOK-1', quantity: 1, unitPriceCents: 1250 }];

/**
 * The real suite with authentication on: a local issuer's tokens, verified by the gateway against its JWK Set, and
 * ownership enforced by the workers behind it. Every token this file uses is looked for in the services' log.
 */
describe('the suite with bearer tokens (AUTH_ISSUER): who may call what, end to end', () => {
  let issuer: LocalIssuer;
  let running: Awaited<ReturnType<typeof startRunningSuite>>;
  const tokensUsed: string[] = [];
  let firstRequestAt = 0;

  beforeAll(async () => {
    issuer = await startLocalIssuer();
    running = await startRunningSuite(
      {},
      { authentication: { issuer: issuer.issuer, audience: issuer.audience, jwksUrl: issuer.jwksUrl } },
    );
    // The gateway's first verification fetches the JWK Set.
    firstRequestAt = Date.now();
    expect((await call('GET', '/v1/users?limit=1', await tokenFor('admin', ['admin']))).status).toBe(200);
  });
  afterAll(async () => {
    await running?.stop();
    await issuer?.close();
  });

  const remember = (token: string) => (tokensUsed.push(token), token);
  const tokenFor = async (subject: string, scopes = USER_SCOPES) => remember(await issuer.mint({ subject, scopes }));
  const call = (method: string, path: string, token: string | undefined, body?: unknown): Promise<ApiResponse> =>
    api(running.baseUrl, method, path, {
      body,
      headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
    });
  const newUser = (name: string) => ({ name, email: uniqueEmail(name.toLowerCase().replace(/\W+/g, '-')) });

  describe('tokens the gateway refuses (401 invalid_token unless said otherwise), before any work', () => {
    const validClaims = () => ({ subject: 'mallory', scopes: ['admin'] });

    it.each<[string, () => Promise<string>]>([
      ['expired', () => issuer.mint({ ...validClaims(), expiresInSeconds: -120 })],
      ['not yet valid', () => issuer.mint({ ...validClaims(), notBeforeInSeconds: 600 })],
      ['from another issuer', () => issuer.mint({ ...validClaims(), extra: { iss: 'https://evil.example' } })],
      ['for another audience', () => issuer.mint({ ...validClaims(), extra: { aud: 'another-api' } })],
      [
        'signed by another key under the same kid',
        async () => {
          const other = await startLocalIssuer();
          try {
            return await other.mint({ ...validClaims(), kid: issuer.kid, extra: { iss: issuer.issuer } });
          } finally {
            await other.close();
          }
        },
      ],
      [
        'unsigned (alg none)',
        async () => {
          const now = Math.floor(Date.now() / 1000);
          const claims = { iss: issuer.issuer, aud: issuer.audience, sub: 'mallory', scope: 'admin', iat: now };
          return `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url({ ...claims, exp: now + 600 })}.`;
        },
      ],
      [
        'HS256, keyed with the public key',
        async () => {
          const jwks = (await (await fetch(issuer.jwksUrl)).json()) as { keys: unknown[] };
          return new SignJWT({ scope: 'admin' })
            .setProtectedHeader({ alg: 'HS256', kid: issuer.kid })
            .setIssuer(issuer.issuer)
            .setAudience(issuer.audience)
            .setSubject('mallory')
            .setIssuedAt()
            .setExpirationTime('10m')
            .sign(new TextEncoder().encode(JSON.stringify(jwks.keys[0])));
        },
      ],
    ])('%s', async (_name, forge) => {
      const response = await call('GET', '/v1/users?limit=1', remember(await forge()));
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer .*error="invalid_token"/);
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    });

    it('no header 401 with a challenge; a malformed one 400 invalid_request; the docs stay open', async () => {
      const missing = await call('POST', '/v1/users', undefined, newUser('Nobody'));
      expect(missing.status).toBe(401);
      expect(missing.headers.get('www-authenticate')).toBe('Bearer realm="warren"');
      // Another scheme is no bearer credential at all (RFC 6750 §3.1); a Bearer header without one token is malformed.
      const basic = await api(running.baseUrl, 'GET', '/v1/users', { headers: { authorization: 'Basic abc' } });
      expect(basic.status).toBe(401);
      const malformed = await api(running.baseUrl, 'GET', '/v1/users', { headers: { authorization: 'Bearer a b' } });
      expect(malformed.status).toBe(400);
      expect(malformed.headers.get('www-authenticate')).toMatch(/error="invalid_request"/);
      expect((await call('GET', '/openapi.json', undefined)).status).toBe(200);
      expect((await call('GET', '/healthz', undefined)).status).toBe(200);
    });

    it('answers 403 insufficient_scope to a valid token without the route scope', async () => {
      const readOnly = await tokenFor('reader', ['users:read']);
      const response = await call('POST', '/v1/users', readOnly, newUser('Reader'));
      expect(response.status).toBe(403);
      expect(response.headers.get('www-authenticate')).toMatch(/error="insufficient_scope", scope="users:write"/);
    });
  });

  describe('ownership, enforced by the workers behind the gateway', () => {
    it("keeps each user's data to that user; admin sees and acts on all", async () => {
      const alice = await tokenFor(`alice-${Date.now()}`);
      const bob = await tokenFor(`bob-${Date.now()}`);
      const admin = await tokenFor('operator', ['admin']);

      const alicesUser = await call('POST', '/v1/users', alice, newUser('Alice'));
      expect(alicesUser.status).toBe(201);
      const bobsUser = await call('POST', '/v1/users', bob, newUser('Bob'));
      expect(bobsUser.status).toBe(201);
      // One user per subject.
      expect((await call('POST', '/v1/users', alice, newUser('Alice Again'))).status).toBe(409);
      // Only an admin binds a user to another subject.
      const forOther = { ...newUser('Carol'), subject: `carol-${Date.now()}` };
      expect((await call('POST', '/v1/users', alice, forOther)).status).toBe(403);

      const alicePath = `/v1/users/${alicesUser.body.id}`;
      const bobPath = `/v1/users/${bobsUser.body.id}`;
      expect((await call('GET', alicePath, alice)).body).toEqual(alicesUser.body);
      // Twice: the second is the gateway's cache, which must not serve Bob's user to Alice either.
      for (let attempt = 0; attempt < 2; attempt += 1) {
        expect((await call('GET', bobPath, bob)).status).toBe(200);
        expect((await call('GET', bobPath, alice)).status).toBe(404);
      }
      expect((await call('PATCH', bobPath, alice, { name: 'Mallory' })).status).toBe(404);
      const alicesList = await call('GET', '/v1/users?limit=100', alice);
      expect(alicesList.body.items.map((user: { id: string }) => user.id)).toEqual([alicesUser.body.id]);

      const order = await call('POST', '/v1/orders', alice, { userId: alicesUser.body.id, currency: 'EUR', items });
      expect(order.status).toBe(201);
      const orderPath = `/v1/orders/${order.body.id}`;
      const onAlicesUser = await call('POST', '/v1/orders', bob, {
        userId: alicesUser.body.id,
        currency: 'EUR',
        items,
      });
      expect(onAlicesUser.status).toBe(422);
      expect((await call('GET', orderPath, bob)).status).toBe(404);
      expect((await call('POST', `${orderPath}/cancel`, bob)).status).toBe(404);
      expect((await call('GET', `/v1/users/${alicesUser.body.id}/orders`, bob)).body).toEqual({
        items: [],
        nextCursor: null,
      });
      expect((await call('GET', `/v1/users/${alicesUser.body.id}/orders`, alice)).body.items).toEqual([order.body]);

      expect((await call('GET', bobPath, admin)).status).toBe(200);
      expect((await call('PATCH', alicePath, admin, { name: 'Alice A.' })).body.name).toBe('Alice A.');
      expect((await call('GET', orderPath, admin)).body.status).toBe('confirmed');
      expect((await call('POST', `${orderPath}/cancel`, alice)).body.status).toBe('cancelled');
    });
  });

  describe('the broker is the boundary: caller headers count only from who may publish', () => {
    /** Publishes users.create straight onto its route queue, naming an admin caller no gateway verified. */
    const publishForged = (channel: Channel, subject: string, replyTo: string) =>
      channel.publish('', 'users.create', Buffer.from(JSON.stringify({ ...newUser('Forged'), subject })), {
        correlationId: randomUUID(),
        replyTo,
        headers: { [CALLER_SUBJECT_HEADER]: 'mallory', [CALLER_SCOPES_HEADER]: 'admin' },
      });

    it('serves a forged admin call from a user with write permission (so the check below can fail)', async () => {
      // The services' own broker user: whoever has its credentials speaks for any caller.
      const connection = await connect(running.amqpUrl);
      try {
        const channel = await connection.createChannel();
        const reply = new Promise<string>((resolve) => {
          void channel.consume('amq.rabbitmq.reply-to', (message) => resolve(message!.content.toString()), {
            noAck: true,
          });
        });
        const subject = `forged-${randomUUID()}`;
        publishForged(channel, subject, 'amq.rabbitmq.reply-to');
        expect(JSON.parse(await reply)).toMatchObject({ ok: true, result: { subject } });
      } finally {
        await connection.close();
      }
    });

    it('refuses the same publish from a user without write permission on the vhost (403 ACCESS_REFUSED)', async () => {
      const url = await running.vhost!.addUser({ configure: '^$', write: '^$', read: '^$' });
      const connection = await connect(url);
      connection.on('error', () => undefined);
      try {
        const channel = await connection.createChannel();
        const refused = new Promise<Error>((resolve) => channel.once('error', resolve));
        const subject = `forged-${randomUUID()}`;
        publishForged(channel, subject, 'nobody');
        expect((await refused).message).toMatch(/ACCESS_REFUSED.*amq\.default/);
        // Nothing reached the users worker: no user is bound to the forged subject.
        const page = await call('GET', '/v1/users?limit=100', await tokenFor(subject));
        expect(page.body).toEqual({ items: [], nextCursor: null });
      } finally {
        await connection.close().catch(() => undefined);
      }
    });
  });

  it('accepts a token signed by a rotated key (one JWK Set refetch), and refuses an unknown kid', async () => {
    // The gateway refetches the JWK Set at most once per 30 s (its cooldown): wait that long after its first fetch.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, firstRequestAt + 31_000 - Date.now())));
    await issuer.rotate();
    const fetchesBefore = issuer.jwksRequests;
    expect((await call('GET', '/v1/users?limit=1', await tokenFor('admin', ['admin']))).status).toBe(200);
    expect(issuer.jwksRequests).toBe(fetchesBefore + 1);
    const unknown = remember(await issuer.mint({ subject: 'admin', scopes: ['admin'], kid: 'no-such-key' }));
    expect((await call('GET', '/v1/users?limit=1', unknown)).status).toBe(401);
  }, 90_000);

  it('writes no token, and no token signature, to the services’ log', () => {
    expect(tokensUsed.length).toBeGreaterThan(5);
    const log = readFileSync(running.logPath, 'utf8');
    expect(log).toContain('request completed');
    // Why a token was refused is the operator's to read (the client is told only that it was).
    expect(log).toMatch(/"problem":\{"type":"urn:warren:problem:invalid-token","reason":"ERR_JWT_EXPIRED: /);
    for (const token of tokensUsed) {
      const signature = token.split('.')[2] ?? '';
      expect(log.includes(token)).toBe(false);
      if (signature.length > 0) expect(log.includes(signature)).toBe(false);
    }
  });
});
