import { readFileSync } from 'node:fs';
import { Parser } from '@asyncapi/parser';
import {
  CALLER_SCOPES_HEADER,
  CALLER_SUBJECT_HEADER,
  DEADLINE_HEADER,
  DIRECT_REPLY_QUEUE,
  IDEMPOTENCY_KEY_HEADER,
  RPC_ERROR_CODES,
} from '@warren/rpc';
import { asyncApiDocument, RESPONDERS } from './asyncapi-document';
import { ASYNCAPI_PATH, asyncApiFileContent } from './write-asyncapi';

const routeNames = Object.values(RESPONDERS).flatMap((module) =>
  Object.values(module as Record<string, { name?: unknown; request?: unknown }>)
    .filter((value) => typeof value?.name === 'string' && value.request !== undefined)
    .map((route) => route.name as string),
);

describe('the AsyncAPI document of the RPC protocol', () => {
  const document = asyncApiDocument('0.0.0-test') as any;

  it('is what packages/contracts/asyncapi.json holds (npm run asyncapi rewrites it)', () => {
    expect(readFileSync(ASYNCAPI_PATH, 'utf8')).toBe(asyncApiFileContent());
  });

  it('parses and validates with @asyncapi/parser: no errors, and the operations it reads back', async () => {
    const { document: parsed, diagnostics } = await new Parser().parse(JSON.stringify(document));
    // Severity 0 is an error; warnings (1) and hints are reported but allowed.
    expect(diagnostics.filter((diagnostic) => diagnostic.severity === 0)).toEqual([]);
    expect(parsed).toBeDefined();
    const operations = parsed!.operations().all();
    expect(operations.map((operation) => operation.json<{ title: string }>().title).sort()).toEqual(
      [...routeNames].sort(),
    );
    for (const operation of operations) {
      expect(operation.action()).toBe('receive');
      expect(operation.reply()?.channel()?.address()).toBe(DIRECT_REPLY_QUEUE);
    }
  });

  it('has one queue channel per route of @warren/contracts, at the queue the route is published to', () => {
    const addresses = Object.values<any>(document.channels).map((channel) => channel.address);
    expect(addresses.sort()).toEqual([...routeNames, DIRECT_REPLY_QUEUE].sort());
    expect(routeNames.length).toBeGreaterThanOrEqual(8);
  });

  it("names the protocol's own headers and every error code, from @warren/rpc's constants", () => {
    const headers = Object.keys(document.components.messages.usersCreateRequest.headers.properties);
    expect(headers).toEqual(
      expect.arrayContaining([
        DEADLINE_HEADER,
        IDEMPOTENCY_KEY_HEADER,
        CALLER_SUBJECT_HEADER,
        CALLER_SCOPES_HEADER,
        'traceparent',
        'baggage',
      ]),
    );
    expect(document.components.schemas.RpcError.properties.code.enum).toEqual([...RPC_ERROR_CODES]);
    // Shared schemas are components, referred to from the messages.
    expect(document.components.schemas.User.properties.id.format).toBe('uuid');
    expect(JSON.stringify(document.components.messages.usersGetReply.payload)).toContain(
      '"$ref":"#/components/schemas/User"',
    );
  });
});
