import { startLocalIssuer, type LocalIssuer } from '@warren/launcher';
import { createLogger } from '@warren/service-kit';
import express from 'express';
import request from 'supertest';
import { closedServerUrl } from '../../test/support/stub-server';
import { problemErrorHandler } from '../errors/error-mapping';
import { authenticate, identityOf, requireScopes } from './authenticate';
import { createTokenVerifier } from './token-verifier';

// Through express and the gateway's one error handler, with real tokens from a real issuer.

let issuer: LocalIssuer;
let app: express.Express;

beforeAll(async () => {
  issuer = await startLocalIssuer();
  const verifier = createTokenVerifier({ issuer: issuer.issuer, audience: issuer.audience, jwksUrl: issuer.jwksUrl });
  const unreachable = createTokenVerifier({
    issuer: issuer.issuer,
    audience: issuer.audience,
    jwksUrl: `${await closedServerUrl()}/jwks`,
  });
  const whoAmI: express.RequestHandler = (_req, res) => {
    res.json(identityOf(res) ?? null);
  };
  app = express();
  app.get('/me', authenticate({ verifier }), whoAmI);
  app.get('/optional', authenticate({ verifier, required: false }), whoAmI);
  app.get('/users', authenticate({ verifier }), requireScopes(['users:read']), whoAmI);
  app.get('/orders', authenticate({ verifier }), requireScopes(['orders:read', 'orders:write']), whoAmI);
  app.get('/anonymous-scoped', authenticate({ verifier, required: false }), requireScopes(['users:read']), whoAmI);
  app.get('/unreachable', authenticate({ verifier: unreachable }), whoAmI);
  app.use(problemErrorHandler(createLogger({ service: 'gateway', level: 'silent', pretty: false })));
});

afterAll(async () => {
  await issuer.close();
});

const bearer = async (scopes: string[], subject = 'ada') => `Bearer ${await issuer.mint({ subject, scopes })}`;

describe('authenticate', () => {
  it('keeps the verified identity for the handler', async () => {
    const response = await request(app)
      .get('/me')
      .set('Authorization', await bearer(['users:read']));
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ subject: 'ada', scopes: ['users:read'] });
  });

  it('answers a request without a token 401 with a bare Bearer challenge', async () => {
    for (const authorization of [undefined, 'Basic dXNlcjpwYXNz']) {
      const call = request(app).get('/me');
      const response = await (authorization ? call.set('Authorization', authorization) : call);
      expect(response.status).toBe(401);
      expect(response.headers['www-authenticate']).toBe('Bearer realm="warren"');
      expect(response.body).toMatchObject({ type: 'urn:warren:problem:authentication-required', status: 401 });
    }
  });

  it('answers a malformed Bearer header 400 invalid_request', async () => {
    const response = await request(app).get('/me').set('Authorization', 'Bearer one two');
    expect(response.status).toBe(400);
    expect(response.headers['www-authenticate']).toBe(
      'Bearer realm="warren", error="invalid_request", error_description="the Authorization header is not a bearer token: more than one token"',
    );
  });

  it('answers a token that does not verify 401 invalid_token, without saying why', async () => {
    const expired = await issuer.mint({ subject: 'ada', scopes: [], expiresInSeconds: -3600 });
    const response = await request(app).get('/me').set('Authorization', `Bearer ${expired}`);
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toBe(
      'Bearer realm="warren", error="invalid_token", error_description="the access token is invalid or expired"',
    );
    expect(response.body).toMatchObject({ type: 'urn:warren:problem:invalid-token' });
    expect(JSON.stringify(response.body)).not.toMatch(/claim|ERR_/);
    expect(JSON.stringify(response.body)).not.toContain(expired);
  });

  it('answers 503 with Retry-After when the issuer’s keys cannot be fetched', async () => {
    const response = await request(app)
      .get('/unreachable')
      .set('Authorization', await bearer([]));
    expect(response.status).toBe(503);
    expect(response.headers['retry-after']).toBe('1');
    expect(response.headers['www-authenticate']).toBeUndefined();
    expect(response.body).toMatchObject({ type: 'urn:warren:problem:identity-provider-unavailable' });
  });

  it('lets an anonymous request through when authentication is optional, but not a bad token', async () => {
    const anonymous = await request(app).get('/optional');
    expect(anonymous.status).toBe(200);
    expect(anonymous.body).toBeNull();
    expect((await request(app).get('/optional').set('Authorization', 'Bearer nope')).status).toBe(401);
    expect((await request(app).get('/optional').set('Authorization', 'Bearer')).status).toBe(400);
  });
});

describe('requireScopes', () => {
  it('lets through a token with every scope', async () => {
    const users = await request(app)
      .get('/users')
      .set('Authorization', await bearer(['users:read']));
    expect(users.status).toBe(200);
    const orders = await request(app)
      .get('/orders')
      .set('Authorization', await bearer(['orders:read', 'orders:write']));
    expect(orders.status).toBe(200);
  });

  it('answers a token lacking a scope 403 insufficient_scope, naming the scopes', async () => {
    const users = await request(app)
      .get('/users')
      .set('Authorization', await bearer(['orders:read']));
    expect(users.status).toBe(403);
    expect(users.headers['www-authenticate']).toBe(
      'Bearer realm="warren", error="insufficient_scope", scope="users:read"',
    );
    expect(users.body).toMatchObject({ type: 'urn:warren:problem:insufficient-scope', status: 403 });
    const orders = await request(app)
      .get('/orders')
      .set('Authorization', await bearer(['orders:read']));
    expect(orders.status).toBe(403);
    expect(orders.headers['www-authenticate']).toContain('scope="orders:read orders:write"');
  });

  it('lets admin through', async () => {
    const response = await request(app)
      .get('/orders')
      .set('Authorization', await bearer(['admin'], 'root'));
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ subject: 'root', scopes: ['admin'] });
  });

  it('answers an anonymous caller 401, not 403', async () => {
    const response = await request(app).get('/anonymous-scoped');
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toBe('Bearer realm="warren"');
  });
});
