// Three projects so each kind of test can run alone:
//   unit         pure logic, beside the code (src/**/*.test.ts, loadtest/**/*.test.ts)
//   integration  one package against real RabbitMQ / PostgreSQL / Redis (test/integration)
//   e2e          the real services as child processes (test/e2e)
//   deploy       the Helm chart and k8s/ manifests, rendered (test/deploy; needs helm: scripts/tools.sh helm)
//   faults       RabbitMQ, PostgreSQL, Redis and service failures under load, exactly-once writes (test/faults)
//   containers   the images and docker-compose.yml on a real container engine (test/containers)
//   cluster      the Helm chart installed on a real single-node Kubernetes cluster (test/cluster)
//   rpc-on-rabbitmq4, faults-on-rabbitmq4  packages/rpc's integration tests and the fault tests again, on the
//                RabbitMQ 4.x the chart ships (when a container engine runs)
const shared = {
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } } }],
    // node-pg-migrate and jose ship only ES modules, which jest's CommonJS sandbox does not load (no require(esm) in
    // jest's module registry, whatever the Node version).
    '^.+/node_modules/(node-pg-migrate|jose)/.+\\.js$': [
      '@swc/jest',
      { jsc: { target: 'es2022' }, module: { type: 'commonjs' } },
    ],
  },
  transformIgnorePatterns: ['/node_modules/(?!(node-pg-migrate|jose)/)'],
  moduleNameMapper: { '^@warren/([a-z-]+)$': '<rootDir>/packages/$1/src' },
  testEnvironment: 'node',
  modulePathIgnorePatterns: ['<rootDir>/.*/dist/'],
};

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    {
      ...shared,
      displayName: 'unit',
      testMatch: [
        '<rootDir>/{packages,services}/*/src/**/*.test.ts',
        '<rootDir>/loadtest/{lib,engine,k6}/**/*.test.ts',
      ],
    },
    {
      ...shared,
      displayName: 'integration',
      testMatch: ['<rootDir>/{packages,services}/*/test/integration/**/*.test.ts'],
      slowTestThreshold: 15,
    },
    {
      ...shared,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/e2e/**/*.test.ts', '<rootDir>/{packages,services}/*/test/e2e/**/*.test.ts'],
      slowTestThreshold: 30,
      // One log directory and random broker/database passwords per run; after the last test, every log of the
      // run is grepped for those passwords and for the Authorization token the tests sent (no secret in logs).
      globalSetup: '<rootDir>/test/e2e/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/e2e/support/global-teardown.ts',
    },
    // Fault injection under load against private RabbitMQ, PostgreSQL and Redis servers (test/faults): one file,
    // its scenarios in sequence (about 2 minutes; services built by `tsc -b`).
    { ...shared, displayName: 'faults', testMatch: ['<rootDir>/test/faults/**/*.test.ts'], slowTestThreshold: 60 },
    // docker-compose.yml run on a container engine with the images of scripts/images.sh (which scripts/test.sh runs
    // first): the API, a trace, Prometheus's scrape, a worker container killed (about 3 minutes).
    {
      ...shared,
      displayName: 'containers',
      testMatch: ['<rootDir>/test/containers/**/*.test.ts'],
      slowTestThreshold: 120,
    },
    // The chart installed on the cluster of scripts/cluster.sh (which scripts/test.sh starts): install, helm test,
    // the API through the gateway's Service, uninstall.
    { ...shared, displayName: 'cluster', testMatch: ['<rootDir>/test/cluster/**/*.test.ts'], slowTestThreshold: 300 },
    // The Helm chart and k8s/ manifests rendered with helm template (scripts/check-chart.sh also runs it).
    { ...shared, displayName: 'deploy', testMatch: ['<rootDir>/test/deploy/**/*.test.ts'], slowTestThreshold: 30 },
    // The RPC integration tests and the fault tests on RabbitMQ 4.x (scripts/rabbitmq4.sh, which scripts/test.sh
    // starts when a container engine is up, exporting WARREN_RABBITMQ4_*): projects only then.
    ...(process.env.WARREN_RABBITMQ4_AMQP_URL
      ? [
          {
            ...shared,
            displayName: 'rpc-on-rabbitmq4',
            testMatch: ['<rootDir>/packages/rpc/test/integration/**/*.test.ts'],
            setupFiles: ['<rootDir>/test/on-rabbitmq4.ts'],
            slowTestThreshold: 15,
          },
          {
            ...shared,
            displayName: 'faults-on-rabbitmq4',
            testMatch: ['<rootDir>/test/faults/**/*.test.ts'],
            setupFiles: ['<rootDir>/test/on-rabbitmq4.ts'],
            slowTestThreshold: 120,
          },
        ]
      : []),
  ],
};
