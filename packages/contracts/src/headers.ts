/** The longest Idempotency-Key the API accepts: the RPC protocol's limit, which the workers check again. */
export { MAX_IDEMPOTENCY_KEY_LENGTH } from '@warren/rpc';
