import { ordersCancel, ordersCreate, ordersGet, ordersListByUser } from '@warren/contracts';
import { confinedSubjectOf, type RpcServer } from '@warren/rpc';
import type { Logger } from '@warren/service-kit';
import { v7 as uuidv7 } from 'uuid';
import type { OrdersRepository } from '../db/orders-repository';
import { orderTotalCents } from '../totals';
import type { UsersDirectory } from '../users-directory';

export interface OrdersHandlersDependencies {
  repository: OrdersRepository;
  users: Pick<UsersDirectory, 'subjectOfUser'>;
  logger: Logger;
  /** Messages each route handles at once (RPC_CONCURRENCY). */
  concurrency: number;
  /** New order ids: time-ordered UUIDv7, so id order is creation order. */
  newOrderId?: () => string;
}

/**
 * Registers the orders.* routes on `server`. An order belongs to its user's token subject; every read and change is
 * confined to the caller's own orders unless it is an admin, and an order is placed only for a user the caller may
 * see (the users service decides). Statements are cancelled at the request's deadline (`context.signal`).
 */
export function registerOrdersHandlers(server: RpcServer, deps: OrdersHandlersDependencies): void {
  const { repository, users, logger, concurrency } = deps;
  const newOrderId = deps.newOrderId ?? (() => uuidv7());
  const options = { concurrency };

  server.handle(
    ordersCreate,
    async (request, context) => {
      const totalCents = orderTotalCents(request.items);
      const { idempotencyKey } = context;
      // A retry of a create that already succeeded gets the same order back, without asking users again.
      if (idempotencyKey !== undefined) {
        const original = await repository.findByIdempotencyKey(
          idempotencyKey,
          confinedSubjectOf(context.caller),
          context.signal,
        );
        if (original) return original;
      }
      const ownerSubject = await users.subjectOfUser(request.userId, context);
      const order = await repository.create(
        {
          id: newOrderId(),
          userId: request.userId,
          items: request.items,
          totalCents,
          currency: request.currency,
          ownerSubject,
        },
        idempotencyKey,
        context.signal,
      );
      // requestId, trace_id and span_id come from the handler's context (see createLogger).
      logger.info({ orderId: order.id, userId: order.userId, totalCents }, 'order created');
      return order;
    },
    options,
  );

  server.handle(
    ordersGet,
    ({ id }, context) => repository.get(id, confinedSubjectOf(context.caller), context.signal),
    options,
  );

  server.handle(
    ordersListByUser,
    ({ userId, limit, cursor }, context) =>
      repository.listByUser(userId, { limit, cursor }, confinedSubjectOf(context.caller), context.signal),
    options,
  );

  server.handle(
    ordersCancel,
    async ({ id }, context) => {
      const order = await repository.cancel(
        id,
        context.idempotencyKey,
        confinedSubjectOf(context.caller),
        context.signal,
      );
      logger.info({ orderId: id }, 'order cancelled');
      return order;
    },
    options,
  );
}
