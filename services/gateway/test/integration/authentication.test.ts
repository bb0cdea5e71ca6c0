import { CALLER_SCOPES_HEADER, CALLER_SUBJECT_HEADER } from '@warren/rpc';
import { newUserBody, routes, useGatewayOverFakeBackend } from './harness';

jest.setTimeout(30_000);

describe('the gateway with authentication on (AUTH_ISSUER)', () => {
  const suite = useGatewayOverFakeBackend({ authenticated: true });
  const { backend, http } = suite;
  const bearer = async (scopes: string[], subject = 'alice') =>
    `Bearer ${await suite.issuer.mint({ subject, scopes })}`;

  it('answers an API request without a token 401 with a Bearer challenge, before reading its body', async () => {
    const before = backend.calls.length;
    const response = await http().post('/v1/users').send(newUserBody());
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toBe('Bearer realm="warren"');
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(backend.calls.length).toBe(before);
  });

  it('answers an invalid token 401 invalid_token, and a token lacking the route scope 403 naming it', async () => {
    const expired = await suite.issuer.mint({ subject: 'alice', scopes: ['users:write'], expiresInSeconds: -120 });
    const invalid = await http().post('/v1/users').set('Authorization', `Bearer ${expired}`).send(newUserBody());
    expect(invalid.status).toBe(401);
    expect(invalid.headers['www-authenticate']).toMatch(/error="invalid_token"/);

    const readOnly = await http()
      .post('/v1/users')
      .set('Authorization', await bearer(['users:read']))
      .send(newUserBody());
    expect(readOnly.status).toBe(403);
    expect(readOnly.headers['www-authenticate']).toMatch(/error="insufficient_scope", scope="users:write"/);
  });

  it("serves a token with the route's scope, or admin, and passes the caller's identity to the worker", async () => {
    const created = await http()
      .post('/v1/users')
      .set('Authorization', await bearer(['users:write', 'users:read']))
      .send(newUserBody());
    expect(created.status).toBe(201);
    const call = backend.callsTo(routes.usersCreate).at(-1)!;
    expect(call.headers[CALLER_SUBJECT_HEADER]).toBe('alice');
    expect(call.headers[CALLER_SCOPES_HEADER]).toBe('users:write users:read');

    const asAdmin = await http()
      .get(`/v1/users/${created.body.id}`)
      .set('Authorization', await bearer(['admin'], 'operator'));
    expect(asAdmin.status).toBe(200);
  });

  it("serves a cached user only to its own subject or an admin; another subject's request goes to the worker", async () => {
    const alice = await bearer(['users:write', 'users:read'], `alice-${Date.now()}`);
    const created = await http().post('/v1/users').set('Authorization', alice).send(newUserBody());
    expect(created.status).toBe(201);
    const path = `/v1/users/${created.body.id}`;
    expect((await http().get(path).set('Authorization', alice)).headers['x-cache']).toBe('miss');
    const hit = await http().get(path).set('Authorization', alice);
    expect(hit.headers['x-cache']).toBe('hit');
    expect(hit.body).toEqual(created.body);

    const gets = backend.callsTo(routes.usersGet).length;
    const bob = await http()
      .get(path)
      .set('Authorization', await bearer(['users:read'], 'bob'));
    // Refused where the data is: the worker says not found, and nothing of the cached user is sent.
    expect(bob.status).toBe(404);
    expect(bob.headers['x-cache']).toBeUndefined();
    expect(JSON.stringify(bob.body)).not.toContain(created.body.email);
    expect(backend.callsTo(routes.usersGet).length).toBe(gets + 1);

    const admin = await http()
      .get(path)
      .set('Authorization', await bearer(['admin'], 'operator'));
    expect(admin.headers['x-cache']).toBe('hit');
  });

  it('keeps the operations endpoints and the API document open, and documents the scheme and scopes', async () => {
    await http().get('/healthz').expect(200);
    const document = await http().get('/openapi.json').expect(200);
    expect(document.body.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(document.body.paths['/v1/users'].post.security).toEqual([{ bearerAuth: ['users:write'] }]);
    expect(document.body.paths['/v1/orders/{id}'].get.responses).toHaveProperty('403');
  });
});
