import { createOrderBodySchema } from '@warren/contracts';
import { Router } from 'express';
import type { z } from 'zod';
import { captureRoute } from '../middleware/metrics';
import { idParamsSchema, inputOf, pageQuerySchema, validate } from '../middleware/validation';
import { allowOnly, callRoute, type RouteContext } from './route-kit';

type IdParams = z.output<typeof idParamsSchema>;

/** /v1/orders… and /v1/users/:id/orders: orders.create, orders.get, orders.listByUser and orders.cancel. */
export function ordersRouter(context: RouteContext): Router {
  const { routes } = context;
  const router = Router();

  router.post(
    '/orders',
    captureRoute,
    ...context.jsonBody,
    validate({ body: createOrderBodySchema }),
    context.idempotency,
    async (req, res) => {
      const { body } = inputOf<{ body: z.output<typeof createOrderBodySchema> }>(res);
      const order = await callRoute(context, req, routes.ordersCreate, body);
      res.status(201).location(`${req.baseUrl}/orders/${order.id}`).json(order);
    },
  );

  router.get('/orders/:id', captureRoute, validate({ params: idParamsSchema }), async (req, res) => {
    const { params } = inputOf<{ params: IdParams }>(res);
    res.json(await callRoute(context, req, routes.ordersGet, { id: params.id }));
  });

  router.get(
    '/users/:id/orders',
    captureRoute,
    validate({ params: idParamsSchema, query: pageQuerySchema }),
    async (req, res) => {
      const { params, query } = inputOf<{ params: IdParams; query: z.output<typeof pageQuerySchema> }>(res);
      res.json(await callRoute(context, req, routes.ordersListByUser, { userId: params.id, ...query }));
    },
  );

  // Cancelling takes no body; the order id in the path is the whole request.
  router.post(
    '/orders/:id/cancel',
    captureRoute,
    validate({ params: idParamsSchema }),
    context.idempotency,
    async (req, res) => {
      const { params } = inputOf<{ params: IdParams }>(res);
      res.json(await callRoute(context, req, routes.ordersCancel, { id: params.id }));
    },
  );

  allowOnly(router, '/orders', ['POST']);
  allowOnly(router, '/orders/:id', ['GET']);
  allowOnly(router, '/users/:id/orders', ['GET']);
  allowOnly(router, '/orders/:id/cancel', ['POST']);
  return router;
}
