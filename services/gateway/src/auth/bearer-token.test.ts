import { AuthenticationRequiredError, MalformedAuthorizationError } from '../errors/http-errors';
import { parseBearerToken } from './bearer-token';

describe('parseBearerToken', () => {
  it.each([
    ['a JWT', 'Bearer eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhZGEifQ.c2ln', 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhZGEifQ.c2ln'],
    ['every b64token character and padding', 'Bearer AZaz09-._~+/==', 'AZaz09-._~+/=='],
    ['the scheme in lower case', 'bearer abc', 'abc'],
    ['the scheme in upper case', 'BEARER abc', 'abc'],
    ['several spaces after the scheme', 'Bearer   abc', 'abc'],
    ['surrounding whitespace', '  Bearer abc  ', 'abc'],
  ])('returns the token of %s', (_name, header, token) => {
    expect(parseBearerToken(header)).toBe(token);
  });

  it.each([
    ['no header', undefined],
    ['an empty header', ''],
    ['a blank header', '   '],
    ['Basic credentials', 'Basic dXNlcjpwYXNz'],
    ['another scheme', 'Token abc'],
    ['a scheme glued to its token', 'Bearerabc'],
  ])('asks for authentication when there are no bearer credentials: %s', (_name, header) => {
    expect(() => parseBearerToken(header)).toThrow(AuthenticationRequiredError);
  });

  it.each([
    ['the scheme alone', 'Bearer', 'no token after the scheme'],
    ['the scheme and spaces', 'Bearer    ', 'no token after the scheme'],
    ['two tokens', 'Bearer abc def', 'more than one token'],
    ['a token and a tab', 'Bearer abc\tdef', 'more than one token'],
    ['a character outside b64token', 'Bearer abc$def', 'the token has characters a bearer token cannot'],
    ['a quote', 'Bearer ab"c', 'the token has characters a bearer token cannot'],
    ['padding before the end', 'Bearer ab=c', 'the token has characters a bearer token cannot'],
    ['padding alone', 'Bearer ==', 'the token has characters a bearer token cannot'],
    ['non-ASCII', 'Bearer abcé', 'the token has characters a bearer token cannot'],
  ])('refuses a malformed bearer header: %s', (_name, header, problem) => {
    let thrown: unknown;
    try {
      parseBearerToken(header);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(MalformedAuthorizationError);
    expect(thrown).toMatchObject({ status: 400, problem });
  });
});
