import { ordersCancel, ordersCreate, ordersGet, ordersListByUser } from '@warren/contracts';
import type { RpcServer } from '@warren/rpc';
import { idempotencyKeyFrom, type Logger } from '@warren/service-kit';
import { v7 as uuidv7 } from 'uuid';
import type { OrdersRepository } from '../db/orders-repository';
import { orderTotalCents } from '../totals';
import type { UsersDirectory } from '../users-directory';

/** The routes served; tests pass stand-ins with the same schemas under unique names. */
export interface OrdersRoutes {
  create: typeof ordersCreate;
  get: typeof ordersGet;
  listByUser: typeof ordersListByUser;
  cancel: typeof ordersCancel;
}

export const ORDERS_ROUTES: OrdersRoutes = {
  create: ordersCreate,
  get: ordersGet,
  listByUser: ordersListByUser,
  cancel: ordersCancel,
};

export interface OrdersHandlersDependencies {
  repository: OrdersRepository;
  users: Pick<UsersDirectory, 'assertUserExists'>;
  logger: Logger;
  /** Messages each route handles at once (RPC_CONCURRENCY). */
  concurrency: number;
  routes?: OrdersRoutes;
  /** New order ids: time-ordered UUIDv7, so id order is creation order. */
  newOrderId?: () => string;
}

/** Registers the orders.* routes on `server`. */
export function registerOrdersHandlers(server: RpcServer, deps: OrdersHandlersDependencies): void {
  const { repository, users, logger, concurrency } = deps;
  const routes = deps.routes ?? ORDERS_ROUTES;
  const newOrderId = deps.newOrderId ?? (() => uuidv7());
  const options = { concurrency };

  server.handle(
    routes.create,
    async (request, context) => {
      const totalCents = orderTotalCents(request.items);
      const idempotencyKey = idempotencyKeyFrom(context.headers);
      // A retry of a create that already succeeded gets the same order back, without asking users again.
      if (idempotencyKey !== undefined) {
        const original = await repository.findByIdempotencyKey(idempotencyKey);
        if (original) return original;
      }
      await users.assertUserExists(request.userId, context);
      const order = await repository.create(
        { id: newOrderId(), userId: request.userId, items: request.items, totalCents, currency: request.currency },
        idempotencyKey,
      );
      // requestId, trace_id and span_id come from the handler's context (see createLogger).
      logger.info({ orderId: order.id, userId: order.userId, totalCents }, 'order created');
      return order;
    },
    options,
  );

  server.handle(routes.get, ({ id }) => repository.get(id), options);

  server.handle(
    routes.listByUser,
    ({ userId, limit, cursor }) => repository.listByUser(userId, { limit, cursor }),
    options,
  );

  server.handle(
    routes.cancel,
    async ({ id }) => {
      const order = await repository.cancel(id);
      logger.info({ orderId: id }, 'order cancelled');
      return order;
    },
    options,
  );
}
