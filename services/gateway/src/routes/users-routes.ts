import { createUserBodySchema, updateUserBodySchema } from '@warren/contracts';
import { Router } from 'express';
import type { z } from 'zod';
import type { UserCache } from '../cache/user-cache';
import { captureRoute } from '../middleware/metrics';
import { idParamsSchema, inputOf, pageQuerySchema, validate } from '../middleware/validation';
import { allowOnly, callRoute, type RouteContext } from './route-kit';

type IdParams = z.output<typeof idParamsSchema>;

/** /v1/users…: users.create, users.get (cached), users.list and users.update. */
export function usersRouter(context: RouteContext, cache: UserCache): Router {
  const { routes } = context;
  const router = Router();

  router.post(
    '/users',
    captureRoute,
    ...context.jsonBody,
    validate({ body: createUserBodySchema }),
    context.idempotency,
    async (req, res) => {
      const { body } = inputOf<{ body: z.output<typeof createUserBodySchema> }>(res);
      const user = await callRoute(context, req, routes.usersCreate, body);
      res.status(201).location(`${req.baseUrl}/users/${user.id}`).json(user);
    },
  );

  router.get('/users', captureRoute, validate({ query: pageQuerySchema }), async (req, res) => {
    const { query } = inputOf<{ query: z.output<typeof pageQuerySchema> }>(res);
    res.json(await callRoute(context, req, routes.usersList, query));
  });

  router.get('/users/:id', captureRoute, validate({ params: idParamsSchema }), async (req, res) => {
    const { params } = inputOf<{ params: IdParams }>(res);
    const cached = await cache.get(params.id);
    if (cached.status === 'hit') {
      res.set('X-Cache', 'hit').type('json').send(cached.json);
      return;
    }
    const user = await callRoute(context, req, routes.usersGet, { id: params.id });
    // Serialized once, for the cache and the response.
    const json = JSON.stringify(user);
    if (cached.status === 'miss') await cache.set(params.id, json);
    res.set('X-Cache', cached.status).type('json').send(json);
  });

  router.patch(
    '/users/:id',
    captureRoute,
    ...context.jsonBody,
    validate({ params: idParamsSchema, body: updateUserBodySchema }),
    async (req, res) => {
      const { params, body } = inputOf<{ params: IdParams; body: z.output<typeof updateUserBodySchema> }>(res);
      const user = await callRoute(context, req, routes.usersUpdate, { ...body, id: params.id });
      await cache.invalidate(params.id);
      res.json(user);
    },
  );

  allowOnly(router, '/users', ['GET', 'POST']);
  allowOnly(router, '/users/:id', ['GET', 'PATCH']);
  return router;
}
