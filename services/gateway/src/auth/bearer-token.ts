import { AuthenticationRequiredError, MalformedAuthorizationError } from '../errors/http-errors';

// RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token; b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+"
// / "/" ) *"=". The scheme is case-insensitive (RFC 9110 §11.1).
const BEARER_SCHEME = 'bearer';
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/**
 * The token of an `Authorization: Bearer <token>` header. Throws AuthenticationRequiredError when there are no
 * bearer credentials (no header, an empty one, or another scheme such as Basic: RFC 6750 §3.1 treats an
 * unsupported method like no authentication) and MalformedAuthorizationError when the Bearer scheme does not carry
 * exactly one well-formed token.
 */
export function parseBearerToken(authorization: string | undefined): string {
  const header = authorization?.trim() ?? '';
  if (header === '') throw new AuthenticationRequiredError();
  const separator = header.indexOf(' ');
  const scheme = separator === -1 ? header : header.slice(0, separator);
  if (scheme.toLowerCase() !== BEARER_SCHEME) throw new AuthenticationRequiredError();
  const token = separator === -1 ? '' : header.slice(separator + 1).trimStart();
  if (token === '') throw new MalformedAuthorizationError('no token after the scheme');
  if (/\s/.test(token)) throw new MalformedAuthorizationError('more than one token');
  if (!B64TOKEN.test(token)) throw new MalformedAuthorizationError('the token has characters a bearer token cannot');
  return token;
}
