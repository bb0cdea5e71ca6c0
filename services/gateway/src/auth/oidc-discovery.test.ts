import { startLocalIssuer } from '@warren/launcher';
import { closedServerUrl, startStubServer } from '../../test/support/stub-server';
import { IdentityProviderUnavailableError } from '../errors/http-errors';
import { DISCOVERY_PATH, discoverJwksUrl } from './oidc-discovery';

/** What discoverJwksUrl threw, checked to be an IdentityProviderUnavailableError. */
async function unavailability(promise: Promise<unknown>): Promise<IdentityProviderUnavailableError> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(IdentityProviderUnavailableError);
  return error as IdentityProviderUnavailableError;
}

/** A provider answering every request with this discovery document, given its own URL. */
const documentServer = (document: (url: string) => unknown) =>
  startStubServer((req, res) =>
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify(document(`http://${req.headers.host}`))),
  );

describe('discoverJwksUrl', () => {
  it('reads jwks_uri from the issuer’s discovery document', async () => {
    const issuer = await startLocalIssuer();
    try {
      await expect(discoverJwksUrl(issuer.issuer)).resolves.toBe(issuer.jwksUrl);
    } finally {
      await issuer.close();
    }
  });

  it('asks at the well-known path, without the issuer’s trailing slash', async () => {
    const paths: string[] = [];
    const provider = await startStubServer((req, res) => {
      paths.push(req.url ?? '');
      res.writeHead(404).end();
    });
    try {
      await unavailability(discoverJwksUrl(`${provider.url}/realms/warren/`));
      expect(paths).toEqual([`/realms/warren${DISCOVERY_PATH}`]);
    } finally {
      await provider.close();
    }
  });

  it('refuses a document that names another issuer', async () => {
    const provider = await documentServer(() => ({
      issuer: 'https://evil.example',
      jwks_uri: 'https://evil.example/k',
    }));
    try {
      expect((await unavailability(discoverJwksUrl(provider.url))).reason).toMatch(/names issuer https:\/\/evil/);
    } finally {
      await provider.close();
    }
  });

  it.each([
    ['no jwks_uri', {}],
    ['a jwks_uri that is not a URL', { jwks_uri: 'keys' }],
    ['a jwks_uri that is not HTTP', { jwks_uri: 'file:///etc/passwd' }],
  ])('refuses a document with %s', async (_name, fields) => {
    const provider = await documentServer((url) => ({ issuer: url, ...fields }));
    try {
      expect((await unavailability(discoverJwksUrl(provider.url))).reason).toMatch(/no usable jwks_uri/);
    } finally {
      await provider.close();
    }
  });

  it('reports an unreachable, slow, failing or redirecting provider as unavailable', async () => {
    expect((await unavailability(discoverJwksUrl(await closedServerUrl()))).reason).toMatch(/fetch failed/);
    const silent = await startStubServer(() => undefined);
    const failing = await startStubServer((_req, res) => res.writeHead(500).end());
    const redirecting = await startStubServer((_req, res) => res.writeHead(302, { location: 'http://x.test/' }).end());
    const garbled = await startStubServer((_req, res) => res.writeHead(200).end('<html>'));
    try {
      expect((await unavailability(discoverJwksUrl(silent.url, { timeoutMs: 50 }))).reason).toMatch(/abort|timeout/i);
      expect((await unavailability(discoverJwksUrl(failing.url))).reason).toMatch(/answered 500/);
      expect((await unavailability(discoverJwksUrl(redirecting.url))).reason).toMatch(/fetch failed/);
      expect((await unavailability(discoverJwksUrl(garbled.url))).reason).toMatch(/JSON/);
    } finally {
      await Promise.all([silent.close(), failing.close(), redirecting.close(), garbled.close()]);
    }
  });
});
