import { IdentityProviderUnavailableError } from '../errors/http-errors';

/** Where OpenID Connect Discovery 1.0 §4 publishes an issuer's metadata, relative to the issuer. */
export const DISCOVERY_PATH = '/.well-known/openid-configuration';

export interface DiscoveryOptions {
  /** Milliseconds the whole fetch of the document may take (default 2000). */
  timeoutMs?: number;
}

/**
 * The `jwks_uri` of the issuer's OpenID Connect discovery document. The document must name the same issuer
 * (Discovery §4.3), or a misconfigured or impersonated provider would hand out its keys for ours. Any failure —
 * unreachable, timed out, not 200, not such a document — is an IdentityProviderUnavailableError.
 */
export async function discoverJwksUrl(issuer: string, options: DiscoveryOptions = {}): Promise<string> {
  // Discovery §4.1: a terminating "/" of the issuer is removed before the well-known path is appended.
  const url = `${issuer.replace(/\/+$/, '')}${DISCOVERY_PATH}`;
  let document: unknown;
  try {
    const response = await fetch(url, {
      headers: { accept: 'application/json' },
      // A redirect would make someone else's document ours.
      redirect: 'error',
      signal: AbortSignal.timeout(options.timeoutMs ?? 2000),
    });
    if (response.status !== 200) throw new Error(`${url} answered ${response.status}`);
    document = await response.json();
  } catch (error) {
    throw new IdentityProviderUnavailableError(`OIDC discovery failed: ${(error as Error).message}`, error);
  }
  const { issuer: named, jwks_uri: jwksUri } = (document ?? {}) as { issuer?: unknown; jwks_uri?: unknown };
  if (named !== issuer) {
    throw new IdentityProviderUnavailableError(`the discovery document at ${url} names issuer ${String(named)}`);
  }
  const parsed = typeof jwksUri === 'string' && URL.canParse(jwksUri) ? new URL(jwksUri) : undefined;
  if (parsed?.protocol !== 'https:' && parsed?.protocol !== 'http:') {
    throw new IdentityProviderUnavailableError(`the discovery document at ${url} has no usable jwks_uri`);
  }
  return parsed.href;
}
