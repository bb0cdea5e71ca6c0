/** RPC message headers the gateway sets and the workers read. */
export const RPC_HEADERS = {
  /** The HTTP request's id, for logs on every hop. */
  requestId: 'x-request-id',
  /** The HTTP `Idempotency-Key`: a create with a key already seen returns what the first one created. */
  idempotencyKey: 'x-idempotency-key',
} as const;

export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;
