import { ADMIN_SCOPE as RPC_ADMIN_SCOPE } from '@warren/rpc';

/** Every scope the gateway checks; routes name theirs from this list. */
export const SCOPES = ['users:read', 'users:write', 'orders:read', 'orders:write', 'admin'] as const;

export type Scope = (typeof SCOPES)[number];

/** Stands in for every other scope, and acts for any subject: an operator's token (the rule is @warren/rpc's). */
export const ADMIN_SCOPE: Scope = RPC_ADMIN_SCOPE;

/** Who is calling, as a verified access token says. */
export interface CallerIdentity {
  /** The token's `sub`. */
  subject: string;
  /** Every scope the token grants, known to the gateway or not. */
  scopes: readonly string[];
}

/**
 * The scopes a token's claims grant: `scope`, a space-separated string (RFC 8693 §4.2, RFC 9068 §2.2.3), and `scp`,
 * which some providers send as an array (Okta) and others as a space-separated string (Entra ID). Both are read;
 * a claim of any other shape grants nothing rather than failing the token.
 */
export function scopesFromClaims(claims: Readonly<Record<string, unknown>>): string[] {
  const granted = new Set<string>();
  for (const claim of [claims.scope, claims.scp]) {
    const values = typeof claim === 'string' ? claim.split(' ') : Array.isArray(claim) ? claim : [];
    for (const value of values) {
      if (typeof value === 'string' && value !== '') granted.add(value);
    }
  }
  return [...granted];
}

/** True when the identity has every one of `required`, or `admin`. */
export function hasScopes(identity: CallerIdentity, required: readonly Scope[]): boolean {
  if (identity.scopes.includes(ADMIN_SCOPE)) return true;
  return required.every((scope) => identity.scopes.includes(scope));
}
