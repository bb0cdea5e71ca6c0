import { openApiPath } from '../routes/api-route';
import { API_ROUTES } from '../routes/api-routes';
import { buildOpenApiDocument } from './openapi-document';

type Json = Record<string, any>;

const document = buildOpenApiDocument() as Json;
const schemas = document.components.schemas as Record<string, Json>;
const METHODS = ['get', 'post', 'patch', 'put', 'delete'];

function operations(): [string, string, Json][] {
  return Object.entries(document.paths as Record<string, Json>).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => METHODS.includes(method))
      .map(([method, operation]) => [path, method, operation as Json] as [string, string, Json]),
  );
}

function refs(value: unknown, found: string[] = []): string[] {
  if (Array.isArray(value)) value.forEach((entry) => refs(entry, found));
  else if (value && typeof value === 'object') {
    for (const [key, entry] of Object.entries(value)) {
      if (key === '$ref' && typeof entry === 'string') found.push(entry);
      else refs(entry, found);
    }
  }
  return found;
}

describe('the OpenAPI document', () => {
  it('is OpenAPI 3.1 with one operation per route of the table, and nothing else', () => {
    expect(document.openapi).toBe('3.1.0');
    expect(
      operations().map(([path, method, operation]) => [`${method.toUpperCase()} ${path}`, operation.operationId]),
    ).toEqual(API_ROUTES.map((route) => [`${route.method.toUpperCase()} ${openApiPath(route)}`, route.operationId]));
  });

  it('has every $ref pointing at a component', () => {
    const all = refs(document);
    expect(all.length).toBeGreaterThan(0);
    for (const ref of all) {
      expect(ref).toMatch(/^#\/components\/schemas\//);
      expect(schemas[ref.replace('#/components/schemas/', '')]).toBeDefined();
    }
  });

  it('keeps strict objects strict and required fields required', () => {
    for (const name of [
      'User',
      'Order',
      'OrderItem',
      'CreateUserBody',
      'UpdateUserBody',
      'CreateOrderBody',
      'Problem',
    ]) {
      expect(schemas[name]).toMatchObject({ type: 'object', additionalProperties: false });
    }
    expect(schemas.CreateUserBody!.required).toEqual(['name', 'email']);
    expect(schemas.CreateOrderBody!.required).toEqual(['userId', 'items', 'currency']);
    expect(schemas.User!.required).toEqual(['id', 'name', 'email', 'subject', 'createdAt', 'updatedAt']);
    expect(schemas.Problem!.required).toEqual(['type', 'title', 'status', 'detail']);
    expect(schemas.UserPage).toMatchObject({ required: ['items', 'nextCursor'], additionalProperties: false });
  });

  it('says in JSON Schema what the zod refinements check', () => {
    expect(schemas.UpdateUserBody!.minProperties).toBe(1);
    // Trimmed, so it must hold a non-space; and no NUL (PostgreSQL text cannot store it).
    expect(schemas.CreateUserBody!.properties.name).toMatchObject({
      pattern: '^[^\\u0000]*$',
      allOf: [{ pattern: '\\S' }],
    });
  });

  it('links each response to the operations that take what it names', () => {
    const linksOf = (path: string, method: string, status: string) =>
      document.paths[path][method].responses[status].links as Record<string, Json>;
    const created = linksOf('/v1/users', 'post', '201');
    expect(created).toMatchObject({
      usersGet: { operationId: 'usersGet', parameters: { id: '$response.body#/id' } },
      usersUpdate: { operationId: 'usersUpdate', parameters: { id: '$response.body#/id' } },
      ordersListByUser: { operationId: 'ordersListByUser', parameters: { id: '$response.body#/id' } },
      ordersCreate: { operationId: 'ordersCreate', requestBody: { userId: '$response.body#/id' } },
    });
    const order = linksOf('/v1/orders', 'post', '201');
    expect(order).toMatchObject({
      ordersGet: { parameters: { id: '$response.body#/id' } },
      ordersCancel: { parameters: { id: '$response.body#/id' } },
      usersGetByUserId: { operationId: 'usersGet', parameters: { id: '$response.body#/userId' } },
    });
    expect(linksOf('/v1/users/{id}/orders', 'get', '200')).toMatchObject({
      ordersGet: { parameters: { id: '$response.body#/items/0/id' } },
      ordersListByUserNextPage: { parameters: { id: '$request.path.id', cursor: '$response.body#/nextCursor' } },
    });
    // Every link names an operation of this document, and each parameter one that operation has.
    const byId = new Map(operations().map(([, , operation]) => [operation.operationId as string, operation]));
    for (const [, , operation] of operations()) {
      for (const response of Object.values(operation.responses as Record<string, Json>)) {
        for (const link of Object.values((response.links ?? {}) as Record<string, Json>)) {
          const target = byId.get(link.operationId);
          expect(target).toBeDefined();
          const names = (target!.parameters ?? []).map((parameter: Json) => parameter.name);
          for (const parameter of Object.keys(link.parameters ?? {})) expect(names).toContain(parameter);
        }
      }
    }
  });

  it('documents the success and every problem response of each operation', () => {
    const successOf = new Map(API_ROUTES.map((route) => [route.operationId, String(route.success.status)]));
    for (const [, , operation] of operations()) {
      const statuses = Object.keys(operation.responses);
      const success = successOf.get(operation.operationId)!;
      expect(statuses).toEqual(
        expect.arrayContaining([success, '400', '404', '409', '422', '429', '500', '503', '504']),
      );
      if (operation.requestBody) expect(statuses).toEqual(expect.arrayContaining(['413', '415']));
      for (const status of statuses.filter((code) => code.startsWith('4') || code.startsWith('5'))) {
        expect(operation.responses[status].content['application/problem+json'].schema).toEqual({
          $ref: '#/components/schemas/Problem',
        });
      }
      expect(operation.responses['503'].headers['Retry-After'].required).toBe(true);
    }
  });

  it('describes path ids, page parameters and the Idempotency-Key from the contracts', () => {
    const get = document.paths['/v1/users/{id}'].get;
    expect(get.parameters[0]).toMatchObject({ name: 'id', in: 'path', required: true, schema: { format: 'uuid' } });
    const list = document.paths['/v1/users'].get;
    expect(list.parameters).toEqual([
      expect.objectContaining({
        name: 'limit',
        schema: expect.objectContaining({ type: 'integer', minimum: 1, maximum: 100 }),
      }),
      expect.objectContaining({ name: 'cursor', schema: expect.objectContaining({ type: 'string', maxLength: 200 }) }),
    ]);
    const create = document.paths['/v1/orders'].post;
    expect(create.parameters[0]).toMatchObject({
      name: 'Idempotency-Key',
      in: 'header',
      required: false,
      schema: { type: 'string', minLength: 1, maxLength: 255 },
    });
  });
});
