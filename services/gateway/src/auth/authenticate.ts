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
}

/**
 * Verifies the request's bearer token and keeps the caller's identity in `res.locals.identity` (read it with
 * `identityOf`). Failures go to the error handler as AuthenticationRequiredError (401), MalformedAuthorizationError
 * (400), InvalidTokenError (401) or IdentityProviderUnavailableError (503).
 */
export function authenticate(options: AuthenticateOptions): RequestHandler {
  const required = options.required ?? true;
  return async (req, res, next) => {
    let token: string;
    try {
      token = parseBearerToken(req.headers.authorization);
    } catch (error) {
      next(error instanceof AuthenticationRequiredError && !required ? undefined : error);
      return;
    }
    try {
      res.locals.identity = await options.verifier.verify(token);
    } catch (error) {
      next(error);
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
 * InsufficientScopeError (403), and an anonymous one with AuthenticationRequiredError (401). Goes after
 * `authenticate`.
 */
export function requireScopes(scopes: readonly Scope[]): RequestHandler {
  return (_req, res, next) => {
    const identity = identityOf(res);
    if (!identity) next(new AuthenticationRequiredError());
    else if (!hasScopes(identity, scopes)) next(new InsufficientScopeError(scopes));
    else next();
  };
}
