import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';

/** The one algorithm this issuer signs with. */
const ALGORITHM = 'ES256';
const DISCOVERY_PATH = '/.well-known/openid-configuration';
const JWKS_PATH = '/jwks';

export interface LocalIssuerOptions {
  /**
   * Loopback address to listen on (default 127.0.0.1). Anything else is refused: this issuer signs whatever it is
   * asked to, so nothing off this machine may reach it.
   */
  host?: string;
  /** Port (default 0: an ephemeral one). */
  port?: number;
  /** The `aud` of every minted token (default 'warren'). */
  audience?: string;
}

export interface MintClaims {
  /** The token's `sub`. */
  subject: string;
  scopes: readonly string[];
  /** Where the scopes go: `scope`, one space-separated string (RFC 9068, the default), or `scp`, an array. */
  scopeClaim?: 'scope' | 'scp';
  /** Seconds from now to `exp` (default 3600); negative for a token that has already expired. */
  expiresInSeconds?: number;
  /** Seconds from now to `nbf`; no `nbf` unless given. */
  notBeforeInSeconds?: number;
  /** The header's `kid` (default the current key's): another value names a key the JWK Set does not have. */
  kid?: string;
  /** Claims added last, so they replace any above (`iss`, `aud`…); one set to undefined is left out of the token. */
  extra?: Record<string, unknown>;
}

export interface LocalIssuer {
  /** The `iss` of its tokens, and the base of its discovery document: http://127.0.0.1:<port>. */
  issuer: string;
  jwksUrl: string;
  audience: string;
  /** The `kid` of the current signing key. */
  readonly kid: string;
  /** GET /jwks requests served so far (to watch a verifier's refetches). */
  readonly jwksRequests: number;
  /** A signed access token (JWT, `typ` at+jwt) from the current key. */
  mint(claims: MintClaims): Promise<string>;
  /** A new key pair and `kid`; the JWK Set then holds only the new key. */
  rotate(): Promise<void>;
  close(): Promise<void>;
}

interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

async function newSigningKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(ALGORITHM, { extractable: true });
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk);
  return { kid, privateKey, publicJwk: { ...jwk, kid, alg: ALGORITHM, use: 'sig' } };
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127(?:\.\d{1,3}){3}$/.test(host);
}

function sendJson(res: ServerResponse, contentType: string, body: unknown): void {
  res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' }).end(JSON.stringify(body));
}

/**
 * A tiny OpenID Connect issuer for development and tests: an ES256 key pair, its discovery document and JWK Set
 * served over HTTP on loopback, and tokens minted on demand.
 */
export async function startLocalIssuer(options: LocalIssuerOptions = {}): Promise<LocalIssuer> {
  const host = options.host ?? '127.0.0.1';
  if (!isLoopback(host)) throw new Error(`the local issuer listens on loopback only, not ${host}`);
  const audience = options.audience ?? 'warren';
  let key = await newSigningKey();
  let jwksRequests = 0;
  let issuer = '';

  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET') {
      res.writeHead(405, { allow: 'GET' }).end();
    } else if (path === DISCOVERY_PATH) {
      sendJson(res, 'application/json', {
        issuer,
        jwks_uri: `${issuer}${JWKS_PATH}`,
        id_token_signing_alg_values_supported: [ALGORITHM],
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
      });
    } else if (path === JWKS_PATH) {
      jwksRequests += 1;
      sendJson(res, 'application/jwk-set+json', { keys: [key.publicJwk] });
    } else {
      res.writeHead(404).end();
    }
  });
  server.listen(options.port ?? 0, host);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  issuer = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  return {
    issuer,
    jwksUrl: `${issuer}${JWKS_PATH}`,
    audience,
    get kid() {
      return key.kid;
    },
    get jwksRequests() {
      return jwksRequests;
    },
    mint(claims) {
      const now = Math.floor(Date.now() / 1000);
      const scopeClaim = claims.scopeClaim ?? 'scope';
      const payload = {
        iss: issuer,
        aud: audience,
        sub: claims.subject,
        iat: now,
        exp: now + (claims.expiresInSeconds ?? 3600),
        ...(claims.notBeforeInSeconds === undefined ? {} : { nbf: now + claims.notBeforeInSeconds }),
        jti: randomUUID(),
        [scopeClaim]: scopeClaim === 'scp' ? [...claims.scopes] : claims.scopes.join(' '),
        ...claims.extra,
      };
      return new SignJWT(payload)
        .setProtectedHeader({ alg: ALGORITHM, typ: 'at+jwt', kid: claims.kid ?? key.kid })
        .sign(key.privateKey);
    },
    async rotate() {
      key = await newSigningKey();
    },
    async close() {
      const closed = new Promise<void>((resolve, reject) =>
        server.close((error) => (error ? reject(error) : resolve())),
      );
      // A verifier's fetch keeps its connection alive; close() alone would wait for it.
      server.closeAllConnections();
      await closed;
    },
  };
}
