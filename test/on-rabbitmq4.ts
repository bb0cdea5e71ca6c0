/**
 * setupFiles of the jest projects `rpc-on-rabbitmq4` and `faults-on-rabbitmq4`: the RPC integration tests and the
 * fault tests, unchanged, on the RabbitMQ 4.x of scripts/rabbitmq4.sh instead of the local 3.10. The RPC tests reach
 * its container through AMQP_URL and RABBITMQ_MANAGEMENT_URL; the fault tests start containers of its image
 * (WARREN_FAULTS_RABBITMQ_IMAGE) for brokers of their own. Jest gives each test file a copy of process.env, so this
 * reaches no other project's tests.
 */
const amqpUrl = process.env.WARREN_RABBITMQ4_AMQP_URL;
const managementUrl = process.env.WARREN_RABBITMQ4_MANAGEMENT_URL;
const image = process.env.WARREN_RABBITMQ4_IMAGE;
if (!amqpUrl || !managementUrl || !image)
  throw new Error('on RabbitMQ 4 needs WARREN_RABBITMQ4_*: scripts/rabbitmq4.sh env');
process.env.AMQP_URL = amqpUrl;
process.env.RABBITMQ_MANAGEMENT_URL = managementUrl;
process.env.WARREN_FAULTS_RABBITMQ_IMAGE = image;
