import type { RequestHandler, Response } from 'express';
import { AuthenticationRequiredError, InsufficientScopeError } from '../errors/http-errors';
import { parseBearerToken } from './bearer-token';
import { hasScopes, type CallerIdentity, type Scope } from './identity';
import type { TokenVerifier } from './token-verifier';

export interface AuthenticateOptions {
  verifier: TokenVerifier;
  /**
   * When false, a request without bearer credentials goes on anonymous (no identity); a malformed or invalid token
   * is refused either way, so a client that meant to authenticate learns it did not (default true).
   */
  required?: boolean;
  /**
   * When true, a failure is kept on the response for `requireScopes` to raise instead of ending the request here,
   * so what runs between them (the rate limit, keyed by the identity when there is one) still runs: a flood of bad
   * tokens is limited by address (default false).
   */
  deferFailure?: boolean;
}

const FAILURE = 'authenticationFailure';

/**
 * Verifies the request's bearer token and keeps the caller's identity in `res.locals.identity` (read it with
 * `identityOf`). Failures go to the error handler as AuthenticationRequiredError (401), MalformedAuthorizationError
 * (400), InvalidTokenError (401) or IdentityProviderUnavailableError (503).
 */
export function authenticate(options: AuthenticateOptions): RequestHandler {
  const required = options.required ?? true;
  return async (req, res, next) => {
    const fail = (error: unknown) => {
      if (options.deferFailure) {
        res.locals[FAILURE] = error;
        next();
      } else next(error);
    };
    let token: string;
    try {
      token = parseBearerToken(req.headers.authorization);
    } catch (error) {
      if (error instanceof AuthenticationRequiredError && !required) next();
      else fail(error);
      return;
    }
    try {
      res.locals.identity = await options.verifier.verify(token);
    } catch (error) {
      fail(error);
      return;
    }
    next();
  };
}

/** The caller's identity; undefined before `authenticate`, or for an anonymous request when it is optional. */
export function identityOf(res: Response): CallerIdentity | undefined {
  return res.locals.identity as CallerIdentity | undefined;
}

/**
 * Lets through a caller whose token grants every one of `scopes`, or `admin`; refuses any other with
 * InsufficientScopeError (403), and an anonymous one with AuthenticationRequiredError (401); raises the failure
 * a `deferFailure` authenticate kept. Goes after `authenticate`.
 */
export function requireScopes(scopes: readonly Scope[]): RequestHandler {
  return (_req, res, next) => {
    const identity = identityOf(res);
    if (res.locals[FAILURE] !== undefined) next(res.locals[FAILURE]);
    else if (!identity) next(new AuthenticationRequiredError());
    else if (!hasScopes(identity, scopes)) next(new InsufficientScopeError(scopes));
    else next();
  };
}
