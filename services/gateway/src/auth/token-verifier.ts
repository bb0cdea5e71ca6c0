import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { IdentityProviderUnavailableError, InvalidTokenError } from '../errors/http-errors';
import { scopesFromClaims, type CallerIdentity } from './identity';
import { discoverJwksUrl } from './oidc-discovery';

/**
 * The signature algorithms a verifier may accept: asymmetric ones only. An HMAC (HS*) key would have to be shared
 * with every verifier, and with a JWK Set of public keys it invites the key-confusion attack (a token "signed" with
 * the public key as the secret); `none` is no signature at all.
 */
export const ASYMMETRIC_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const;

export type SigningAlgorithm = (typeof ASYMMETRIC_ALGORITHMS)[number];

/** What the common providers sign with. */
export const DEFAULT_ALGORITHMS: readonly SigningAlgorithm[] = ['RS256', 'PS256', 'ES256', 'EdDSA'];

export interface TokenVerifierOptions {
  /** The `iss` every token must carry, exactly (no default). */
  issuer: string;
  /** The `aud` every token must include: this API's identifier (no default). */
  audience: string;
  /**
   * The issuer's JWK Set. Default: the `jwks_uri` of its OpenID Connect discovery document, fetched on the first
   * verification (and again on the next one after a failure), so the gateway starts while the provider is down.
   */
  jwksUrl?: string;
  /** Accepted `alg` values (default DEFAULT_ALGORITHMS); anything outside ASYMMETRIC_ALGORITHMS is refused. */
  algorithms?: readonly string[];
  /** Seconds of clock skew allowed on `exp` and `nbf` (default 30). */
  clockToleranceSeconds?: number;
  /** After a fetch of the JWK Set, a token whose `kid` is unknown triggers no refetch for this long (default 30_000). */
  jwksCooldownMs?: number;
  /** How long a fetched JWK Set is used before it is fetched again (default 600_000). */
  jwksCacheMaxAgeMs?: number;
  /** Milliseconds a fetch of the JWK Set, or of the discovery document, may take (default 2000). */
  jwksTimeoutMs?: number;
}

export interface TokenVerifier {
  /**
   * The identity in a valid access token. Throws InvalidTokenError for any token that does not verify, and
   * IdentityProviderUnavailableError when the keys to check it with cannot be fetched.
   */
  verify(token: string): Promise<CallerIdentity>;
}

/** Checks access tokens (JWTs, RFC 9068) against an issuer's published keys. */
export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  const algorithms = checkedAlgorithms(options.algorithms ?? DEFAULT_ALGORITHMS);
  const timeoutMs = options.jwksTimeoutMs ?? 2000;
  const remoteKeySet = (url: string) =>
    createRemoteJWKSet(new URL(url), {
      cooldownDuration: options.jwksCooldownMs ?? 30_000,
      cacheMaxAge: options.jwksCacheMaxAgeMs ?? 600_000,
      timeoutDuration: timeoutMs,
    });
  // An explicit URL is checked now, a discovered one when it is first needed.
  let keySet: Promise<JWTVerifyGetKey> | undefined =
    options.jwksUrl === undefined ? undefined : Promise.resolve(remoteKeySet(options.jwksUrl));
  const currentKeySet = (): Promise<JWTVerifyGetKey> => {
    if (keySet) return keySet;
    const discovery = discoverJwksUrl(options.issuer, { timeoutMs }).then(remoteKeySet);
    keySet = discovery;
    // A failed discovery is tried again by the next verification, not remembered.
    discovery.catch(() => {
      if (keySet === discovery) keySet = undefined;
    });
    return discovery;
  };
  // jose calls this after the `alg` check and before the signature check, and passes what it throws on unchanged.
  const key: JWTVerifyGetKey = async (header, token) => {
    const remote = await currentKeySet();
    try {
      return await remote(header, token);
    } catch (error) {
      if (isKeySetUnavailable(error)) {
        throw new IdentityProviderUnavailableError(`JWK Set unavailable: ${reasonOf(error)}`, error);
      }
      throw error;
    }
  };
  const verifyOptions = {
    issuer: options.issuer,
    audience: options.audience,
    algorithms,
    clockTolerance: options.clockToleranceSeconds ?? 30,
    requiredClaims: ['exp', 'sub'],
  };

  return {
    async verify(token) {
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, key, verifyOptions));
      } catch (error) {
        if (error instanceof IdentityProviderUnavailableError) throw error;
        throw new InvalidTokenError(reasonOf(error));
      }
      if (typeof payload.sub !== 'string' || payload.sub === '') {
        throw new InvalidTokenError('the "sub" claim is not a non-empty string');
      }
      return { subject: payload.sub, scopes: scopesFromClaims(payload) };
    },
  };
}

/** The algorithms as given, once each is known to be asymmetric; a configuration naming HS* or none is refused. */
function checkedAlgorithms(algorithms: readonly string[]): string[] {
  if (algorithms.length === 0) throw new Error('a token verifier needs at least one algorithm');
  const refused = algorithms.filter((alg) => !(ASYMMETRIC_ALGORITHMS as readonly string[]).includes(alg));
  if (refused.length > 0) {
    throw new Error(
      `refused token algorithm(s) ${refused.join(', ')}: only asymmetric ones (${ASYMMETRIC_ALGORITHMS.join(', ')}) verify tokens, never HS* or none`,
    );
  }
  return [...algorithms];
}

/**
 * True when the JWK Set itself could not be had, as jose reports it (jose/dist/webapi/jwks/remote.js): JWKSTimeout
 * when the fetch outlasts `timeoutDuration`; fetch's own error (a TypeError "fetch failed" whose cause is
 * ECONNREFUSED, ENOTFOUND…) passed on as it is; a bare JOSEError (code ERR_JOSE_GENERIC) for a status other than
 * 200 or a body that is not JSON; JWKSInvalid for JSON that is not a JWK Set. A `kid` that matches no key
 * (JWKSNoMatchingKey, after the one refetch the cooldown allows), or several, or an `alg` the set cannot serve
 * (JOSENotSupported) are the token's fault.
 */
function isKeySetUnavailable(error: unknown): boolean {
  if (!(error instanceof errors.JOSEError)) return true;
  return (
    error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid || error.code === errors.JOSEError.code
  );
}

/** A line for the logs: jose's code and message, which never quote the token. */
function reasonOf(error: unknown): string {
  if (error instanceof errors.JOSEError) return `${error.code}: ${error.message}`;
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? ` (${error.cause.message})` : '';
    return `${error.name}: ${error.message}${cause}`;
  }
  return String(error);
}
