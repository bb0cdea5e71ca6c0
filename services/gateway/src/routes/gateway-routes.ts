import {
  ordersCancel,
  ordersCreate,
  ordersGet,
  ordersListByUser,
  usersCreate,
  usersGet,
  usersList,
  usersUpdate,
} from '@warren/contracts';
import type { RpcClient } from '@warren/rpc';

/**
 * The RPC routes the gateway calls. Injectable so tests can use copies with
 * unique queue names (same schemas) and never meet the real workers.
 */
export interface GatewayRoutes {
  usersCreate: typeof usersCreate;
  usersGet: typeof usersGet;
  usersList: typeof usersList;
  usersUpdate: typeof usersUpdate;
  ordersCreate: typeof ordersCreate;
  ordersGet: typeof ordersGet;
  ordersListByUser: typeof ordersListByUser;
  ordersCancel: typeof ordersCancel;
}

export const contractRoutes: GatewayRoutes = Object.freeze({
  usersCreate,
  usersGet,
  usersList,
  usersUpdate,
  ordersCreate,
  ordersGet,
  ordersListByUser,
  ordersCancel,
});

/** What the gateway needs of an RPC client. */
export type GatewayRpcClient = Pick<RpcClient, 'call' | 'routeStatus' | 'isConnected'>;
