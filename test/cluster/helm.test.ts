/**
 * The Helm chart installed for real, on the single-node cluster scripts/cluster.sh runs (Kubernetes 1.34 built from
 * source): the images of scripts/images.sh loaded into its containerd, `helm install --wait` with the in-chart
 * RabbitMQ, PostgreSQL and Redis, every charts/warren/ci/*.yaml rendering admitted by the API server (with the real
 * KEDA and Prometheus-operator CRDs), `helm test`, the API end to end through the gateway's Service (kubectl
 * port-forward on 127.0.0.1), `helm upgrade` and `helm rollback` under a stream of keyed writes, a users pod and the
 * RabbitMQ pod deleted mid-traffic, then `helm uninstall`, which must leave only what the chart documents. Load goes
 * to the gateway's NodePort, which this cluster serves on 127.0.0.1 only.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { REPOSITORY_ROOT } from '@warren/launcher';
import { describeApiEndToEnd, type ApiTarget } from '../e2e/support/api-scenarios';
import { api, uniqueEmail } from '../e2e/support/http';
import { traceOneOrder } from '../e2e/support/order-trace';
import { poll } from '../e2e/support/poll';
import { auditDatabases } from '../faults/support/audit';
import { summaryTable, type ScenarioFigures } from '../faults/support/fault-suite';
import { expectExactlyOnce } from '../faults/support/expectations';
import { LoadDriver, summarize } from '../faults/support/load-driver';
import {
  CLUSTER,
  clusterProblem,
  createLocalVolumes,
  helm,
  kubectl,
  kubectlJson,
  loadImages,
  PortForward,
} from './support/cluster';
import { notesOf, Release } from './support/release';

jest.setTimeout(120_000);

const NAMESPACE = 'warren-test';
const RELEASE = 'warren';
const CHART = join(REPOSITORY_ROOT, 'charts/warren');
const say = (text: string) => process.stdout.write(`[cluster] ${text}\n`);
const seconds = (since: number) => `${((performance.now() - since) / 1000).toFixed(1)} s`;

const chartMetadata = parse(readFileSync(join(CHART, 'Chart.yaml'), 'utf8')) as { appVersion: string };
const chartValues = parse(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as any;
const backingImage = (name: 'rabbitmq' | 'postgresql' | 'redis') =>
  `${chartValues[name].image.repository}:${chartValues[name].image.tag}`;
/** The ports of the release's Services: the gateway's HTTP port, the workers' ops ports. */
const servicePorts = {
  gateway: chartValues.gateway.service.port as number,
  users: chartValues.users.opsPort as number,
  orders: chartValues.orders.opsPort as number,
};
/** PostgreSQL's image also runs the NetworkPolicy probe (pg_isready): it is in the cluster already. */
const postgresImage = backingImage('postgresql');

/** The images the release runs: the services under the chart's default names, and its backing services. */
function releaseImages(): { tag: [string, string][]; load: string[] } {
  const tag = (['gateway', 'users', 'orders'] as const).map(
    (service) =>
      [
        `warren-${service}:dev`,
        `${chartValues.image.registry}/${chartValues.image.owner}/warren-${service}:${chartMetadata.appVersion}`,
      ] as [string, string],
  );
  const backing = (['rabbitmq', 'postgresql', 'redis'] as const).map(backingImage);
  return { tag, load: [...tag.map(([, name]) => name), ...backing] };
}

/**
 * k8s/observability (Jaeger as the chart's default OTLP endpoint, Prometheus finding pods by their annotations)
 * without Grafana, which is AGPL and cannot be had here, and the images its Deployments run.
 */
async function observabilityStack(): Promise<{ manifests: string; images: string[] }> {
  const rendered = await kubectl([
    'kustomize',
    '--load-restrictor',
    'LoadRestrictionsNone',
    join(REPOSITORY_ROOT, 'k8s/observability'),
  ]);
  const documents = parseAllDocuments(rendered)
    .map((document) => document.toJS() as any)
    .filter((object) => object && !String(object.metadata?.name).startsWith('grafana'));
  const images = documents
    .filter((object) => object.kind === 'Deployment')
    .flatMap((object) => object.spec.template.spec.containers.map((container: any) => container.image as string));
  return { manifests: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: documents }), images };
}

const problem = clusterProblem();
const required = process.env.WARREN_REQUIRE_CLUSTER === 'true';

if (problem !== undefined && !required) {
  describe('the chart on a cluster', () => {
    say(`SKIPPED: no cluster answers (${problem})`);
    it.skip(`skipped: no cluster (${problem})`, () => undefined);
  });
} else {
  describe('the chart installed on a real cluster (in-chart RabbitMQ, PostgreSQL and Redis)', () => {
    const release = new Release(RELEASE, NAMESPACE);
    /** Port-forwards to the observability stack and PostgreSQL. */
    const forwards: PortForward[] = [];
    let target: ApiTarget;
    let installOutput = '';
    /** http://127.0.0.1:<the gateway Service's NodePort> */
    let nodePortUrl: string;

    beforeAll(async () => {
      if (problem !== undefined) throw new Error(`no cluster, and WARREN_REQUIRE_CLUSTER=true: ${problem}`);
      const images = releaseImages();
      for (const [local, name] of images.tag) execFileSync(process.env.DOCKER ?? 'docker', ['tag', local, name]);
      const observability = await observabilityStack();
      let started = performance.now();
      await loadImages([...images.load, ...observability.images]);
      say(
        `images loaded into the cluster in ${seconds(started)}: ${[...images.load, ...observability.images].join(', ')}`,
      );
      // A run that was interrupted leaves its namespace behind.
      await kubectl(['delete', 'namespace', NAMESPACE, 'observability', '--ignore-not-found', '--wait=true'], {
        timeoutMs: 180_000,
      });
      await kubectl(['delete', 'pv', '-l', 'warren.test/local-volume=true', '--ignore-not-found']);
      await kubectl(['apply', '-f', '-'], { input: observability.manifests });
      for (const deployment of ['jaeger', 'prometheus']) {
        await kubectl(['-n', 'observability', 'rollout', 'status', `deployment/${deployment}`, '--timeout=180s'], {
          timeoutMs: 200_000,
        });
      }
      say('k8s/observability up without Grafana (AGPL: no allowed source here): Jaeger, Prometheus');

      await kubectl(['create', 'namespace', NAMESPACE]);
      await createLocalVolumes(['warren-test-rabbitmq', 'warren-test-postgresql']);

      started = performance.now();
      installOutput = await helm([
        'install',
        RELEASE,
        CHART,
        '--namespace',
        NAMESPACE,
        '--wait',
        '--timeout',
        '6m',
        // Traces go to the chart's default endpoint (k8s/observability's otel-collector Service). Load reaches the
        // gateway through its Service, as in production: the NodePort, served on 127.0.0.1 here.
        // The API open, said explicitly (the chart requires an issuer otherwise): the load here carries no tokens.
        '--set',
        'gateway.config.authDisabled=true',
        '--set',
        'gateway.service.type=NodePort',
        ...(CLUSTER.gatewayNodePort === undefined
          ? []
          : ['--set', `gateway.service.nodePort=${CLUSTER.gatewayNodePort}`]),
      ]);
      say(`helm install --wait: deployed, post-install hooks done, in ${seconds(started)}`);
      const gatewayService = await kubectlJson(['-n', NAMESPACE, 'get', 'service', `${RELEASE}-gateway`]);
      nodePortUrl = `http://127.0.0.1:${gatewayService.spec.ports[0].nodePort}`;
      target = await release.apiTarget(servicePorts);
    }, 720_000);

    afterAll(() => {
      release.stopForwards();
      for (const portForward of forwards) portForward.stop();
    });

    it('prints the NOTES and leaves every pod Ready, the migrations done', async () => {
      expect(installOutput).toContain('STATUS: deployed');
      expect(installOutput).toContain(`is installed as release "${RELEASE}"`);
      say(`NOTES:\n${notesOf(installOutput)}`);
      const pods = await release.servingPods();
      expect(pods.notReady).toEqual([]);
      expect(new Set(pods.components)).toEqual(
        new Set(['gateway', 'orders', 'postgresql', 'rabbitmq', 'redis', 'users']),
      );
      // Post-install: after the in-chart PostgreSQL is created.
      expect(await release.migrations()).toEqual([
        { name: `${RELEASE}-orders-migrations`, events: ['post-install', 'pre-upgrade'], phase: 'Succeeded' },
        { name: `${RELEASE}-users-migrations`, events: ['post-install', 'pre-upgrade'], phase: 'Succeeded' },
      ]);
    });

    it('passes helm test', async () => {
      expect(await release.test()).toMatch(/Phase:\s+Succeeded/);
    }, 240_000);

    it('connects each service to RabbitMQ as its own broker user, created from the definitions at boot', async () => {
      const connections = JSON.parse(
        await kubectl([
          '-n',
          NAMESPACE,
          'exec',
          `${RELEASE}-rabbitmq-0`,
          '--',
          'rabbitmqctl',
          '--formatter',
          'json',
          'list_connections',
          'user',
        ]),
      ) as { user: string }[];
      const { username } = chartValues.rabbitmq.auth;
      expect([...new Set(connections.map((connection) => connection.user))].sort()).toEqual(
        ['gateway', 'orders', 'users'].map((service) => `${username}-${service}`),
      );
    });

    describeApiEndToEnd(() => target);

    it('has the API server admit every object of each charts/warren/ci/*.yaml rendering, CRD kinds included', async () => {
      // grafanaDashboards.namespace in one of them
      await kubectl(['create', 'namespace', 'monitoring', '--dry-run=client', '-o', 'yaml']).then((yaml) =>
        kubectl(['apply', '-f', '-'], { input: yaml }),
      );
      const files = readdirSync(join(CHART, 'ci')).filter((file) => file.endsWith('.yaml'));
      expect(files.length).toBeGreaterThan(0);
      const admitted: Record<string, number> = {};
      const kinds = new Set<string>();
      for (const file of files) {
        const rendered = await helm([
          'template',
          'dry-run',
          CHART,
          '--namespace',
          NAMESPACE,
          '-f',
          join(CHART, 'ci', file),
        ]);
        // Namespaced objects without a namespace of their own land in the kubeconfig's (default): a dry run.
        const output = await kubectl(['apply', '--dry-run=server', '-f', '-'], {
          input: rendered,
        });
        const lines = output.split('\n').filter((line) => line.includes('(server dry run)'));
        admitted[file] = lines.length;
        for (const line of lines) kinds.add(line.split('/')[0] ?? '');
      }
      say(`admitted by the API server (server-side dry run): ${JSON.stringify(admitted)}`);
      for (const count of Object.values(admitted)) expect(count).toBeGreaterThan(10);
      // The custom resources, checked against the real CRDs' schemas (scripts/cluster.sh installs them).
      expect([...kinds]).toEqual(
        expect.arrayContaining([
          'scaledobject.keda.sh',
          'triggerauthentication.keda.sh',
          'servicemonitor.monitoring.coreos.com',
          'prometheusrule.monitoring.coreos.com',
        ]),
      );
      await kubectl(['delete', 'namespace', 'monitoring', '--wait=false']);
    });

    it('sends one trace of POST /v1/orders through gateway, orders and users to the Jaeger in the cluster', async () => {
      const jaeger = new PortForward('observability', 'service/jaeger', 16686);
      forwards.push(jaeger);
      const trace = await traceOneOrder(nodePortUrl, await jaeger.start(), 60_000);
      say(`trace ${trace.traceId}: ${trace.spans.length} spans from ${trace.services.join(', ')}`);
    });

    it('has the Prometheus in the cluster scrape every gateway and worker pod (their prometheus.io annotations)', async () => {
      const prometheus = new PortForward('observability', 'service/prometheus', 9090);
      forwards.push(prometheus);
      const url = await prometheus.start();
      const expected = { 'warren-gateway': 2, 'warren-users': 2, 'warren-orders': 2 };
      const up = await poll(
        'every gateway and worker pod scraped',
        90_000,
        async () => {
          const response = await fetch(`${url}/api/v1/targets?state=active`);
          const body = (await response.json()) as {
            data: { activeTargets: { labels: { job: string; namespace?: string }; health: string }[] };
          };
          const counts: Record<string, number> = {};
          for (const target of body.data.activeTargets) {
            if (target.health === 'up' && target.labels.namespace === NAMESPACE) {
              counts[target.labels.job] = (counts[target.labels.job] ?? 0) + 1;
            }
          }
          return Object.entries(expected).every(([job, count]) => (counts[job] ?? 0) >= count) ? counts : undefined;
        },
        1_000,
      );
      say(`Prometheus targets up: ${JSON.stringify(up)}`);
    }, 120_000);

    /**
     * pg_isready (PostgreSQL's image, loaded already) against the release's PostgreSQL Service, from a pod of
     * `namespace` with `labels`: exit 0 and "accepting connections" when the server answers, 2 and "no response"
     * when nothing does. It dials the Service's address, not its name, so that only the network can make it fail.
     */
    async function probePostgres(namespace: string, labels: Record<string, string>) {
      const postgres = await kubectlJson(['-n', NAMESPACE, 'get', 'service', `${RELEASE}-postgresql`]);
      const pod = `netpol-probe-${randomBytes(3).toString('hex')}`;
      const labelList = Object.entries(labels).map(([key, value]) => `${key}=${value}`);
      try {
        await kubectl([
          'run',
          pod,
          '--namespace',
          namespace,
          '--restart=Never',
          `--image=${postgresImage}`,
          '--image-pull-policy=Never',
          ...(labelList.length > 0 ? [`--labels=${labelList.join(',')}`] : []),
          '--command',
          '--',
          'pg_isready',
          '--host',
          postgres.spec.clusterIP,
          '--port',
          '5432',
          '--timeout',
          '5',
        ]);
        const phase = await poll(
          'the probe pod finished',
          60_000,
          async () => {
            const current: string = (await kubectlJson(['-n', namespace, 'get', 'pod', pod])).status.phase;
            return ['Succeeded', 'Failed'].includes(current) ? current : undefined;
          },
          1_000,
        );
        return { phase, output: (await kubectl(['-n', namespace, 'logs', pod])).trim() };
      } finally {
        await kubectl(['-n', namespace, 'delete', 'pod', pod, '--ignore-not-found', '--wait=false']);
      }
    }

    it('ships NetworkPolicies, and shows a denied path where the CNI enforces them (another namespace dials PostgreSQL)', async () => {
      const policies = await kubectlJson<{ items: any[] }>(['-n', NAMESPACE, 'get', 'networkpolicies']);
      const names = policies.items.map((policy) => policy.metadata.name as string);
      expect(names).toEqual(expect.arrayContaining([`${RELEASE}-postgresql`, `${RELEASE}-rabbitmq`]));
      // The control: a pod the policies admit (labelled as a users worker of the release) reaches PostgreSQL, so a
      // refusal below is the policy's doing, not a server down or a wrong address.
      const admitted = await probePostgres(NAMESPACE, {
        'app.kubernetes.io/name': 'warren',
        'app.kubernetes.io/instance': RELEASE,
        'app.kubernetes.io/component': 'users',
      });
      expect(admitted).toEqual({ phase: 'Succeeded', output: expect.stringContaining('accepting connections') });
      // Only the workers (and the migrations) may reach PostgreSQL: a pod of the default namespace may not.
      const outsider = await probePostgres('default', {});
      if (CLUSTER.enforcesNetworkPolicies) {
        expect(outsider).toEqual({ phase: 'Failed', output: expect.stringContaining('no response') });
        say(
          `NetworkPolicies enforced on ${CLUSTER.name}: a users worker's pod reached ${RELEASE}-postgresql:5432, a pod of another namespace was denied (${outsider.output}).`,
        );
      } else {
        // Should this CNI start enforcing them, this turns red: then set enforcesNetworkPolicies in support/cluster.ts.
        expect(outsider).toEqual({ phase: 'Succeeded', output: expect.stringContaining('accepting connections') });
        say(
          `NetworkPolicies NOT enforced on ${CLUSTER.name}: its CNI (bridge + host-local) ignores them, so a pod of another namespace reached ${RELEASE}-postgresql:5432 (${outsider.output}). The ${names.length} policies are admitted by the API server; enforcing them needs a policy-aware CNI (kind's since 0.24, Calico, Cilium).`,
        );
      }
    });

    /** Keyed writes at 20/s through the NodePort while `change` runs; the row-by-row audit afterwards. */
    async function underTraffic(scenario: string, change: () => Promise<void>): Promise<ScenarioFigures> {
      const driver = new LoadDriver({ gateways: [nodePortUrl], ratePerSecond: 20, maxDurationMs: 240_000 }).start();
      const started = performance.now();
      try {
        await new Promise((resolve) => setTimeout(resolve, 3_000));
        await change();
        await new Promise((resolve) => setTimeout(resolve, 3_000));
      } finally {
        await driver.stop();
      }
      const credentials = await kubectlJson(['-n', NAMESPACE, 'get', 'secret', `${RELEASE}-credentials`]);
      const secret = (key: string) => encodeURIComponent(Buffer.from(credentials.data[key], 'base64').toString());
      const postgres = new PortForward(NAMESPACE, `service/${RELEASE}-postgresql`, 5432);
      const address = (await postgres.start()).replace('http://', '');
      try {
        const audit = await auditDatabases(
          {
            urlFor: (database) =>
              database === 'warren_users'
                ? `postgres://warren_users:${secret('users-db-password')}@${address}/warren_users`
                : `postgres://warren_orders:${secret('orders-db-password')}@${address}/warren_orders`,
          },
          driver.runId,
          driver.records,
        );
        const figures: ScenarioFigures = {
          scenario,
          load: summarize(driver.records),
          audit,
          outageMs: performance.now() - started,
        };
        say(`${scenario} (down ms = the whole change):\n${summaryTable([figures])}`);
        return figures;
      } finally {
        postgres.stop();
      }
    }

    /** The gateway and worker pods of the release. */
    const servicePods = () =>
      kubectlJson<{ items: any[] }>([
        '-n',
        NAMESPACE,
        'get',
        'pods',
        '-l',
        'app.kubernetes.io/component in (gateway,users,orders)',
      ]);

    /**
     * Exactly once, and no attempt refused or timed out while pods were replaced. A kept-alive connection that a
     * draining gateway closes just as a request is written on it is the one thing a client can meet (seen once in
     * four runs of the rollback); the client's retry with its key carries the request, as in the fault tests'
     * rolling restart, so only such retries are allowed.
     */
    const expectUndisturbed = (figures: ScenarioFigures) => {
      expectExactlyOnce(figures);
      expect(figures.load.status503 + figures.load.status504 + figures.load.timeouts).toBe(0);
      expect(figures.load.retried).toBeLessThanOrEqual(figures.load.connectionErrors);
      expect(figures.load.connectionErrors).toBeLessThanOrEqual(3);
    };

    const rolloutRevision = async (revision: string) => {
      const sets = ['gateway', 'users', 'orders'].flatMap((service) => [
        '--set-string',
        `${service}.podAnnotations.warren\\.test/revision=${revision}`,
      ]);
      await helm([
        'upgrade',
        RELEASE,
        CHART,
        '--namespace',
        NAMESPACE,
        '--reuse-values',
        '--wait',
        '--timeout',
        '5m',
        ...sets,
      ]);
    };

    it('upgrades (every pod replaced) under a stream of keyed writes without a failed request', async () => {
      const before = await servicePods();
      const figures = await underTraffic('helm upgrade under traffic', () => rolloutRevision('2'));
      expectUndisturbed(figures);
      const after = await servicePods();
      // Old pods may still be draining (preStop, shutdown) when --wait returns; none may still be serving.
      const oldNames = new Set(before.items.map((pod) => pod.metadata.name));
      const stillServing = after.items
        .filter((pod) => oldNames.has(pod.metadata.name) && !pod.metadata.deletionTimestamp)
        .map((pod) => pod.metadata.name);
      expect(stillServing).toEqual([]);
    }, 420_000);

    it('rolls back under the same stream without a failed request', async () => {
      const figures = await underTraffic('helm rollback under traffic', async () => {
        await helm(['rollback', RELEASE, '1', '--namespace', NAMESPACE, '--wait', '--timeout', '5m']);
      });
      expectUndisturbed(figures);
      const history = await helm(['history', RELEASE, '--namespace', NAMESPACE, '-o', 'json']);
      expect((JSON.parse(history) as { description: string }[]).at(-1)?.description).toMatch(/Rollback to 1/);
    }, 420_000);

    it('loses a users pod and the RabbitMQ pod mid-traffic: no acknowledged write lost or doubled', async () => {
      const figures = await underTraffic('users pod and RabbitMQ pod deleted', async () => {
        // One users pod gone at once (no grace: as a node loss would), and the broker restarted.
        const users = await kubectlJson<{ items: any[] }>([
          '-n',
          NAMESPACE,
          'get',
          'pods',
          '-l',
          'app.kubernetes.io/component=users',
        ]);
        await kubectl(['-n', NAMESPACE, 'delete', 'pod', users.items[0].metadata.name, '--grace-period=0', '--force']);
        await kubectl(['-n', NAMESPACE, 'delete', 'pod', `${RELEASE}-rabbitmq-0`, '--wait=false']);
        await new Promise((resolve) => setTimeout(resolve, 5_000));
        await kubectl(['-n', NAMESPACE, 'rollout', 'status', 'statefulset', `${RELEASE}-rabbitmq`, '--timeout=180s'], {
          timeoutMs: 200_000,
        });
        await kubectl(['-n', NAMESPACE, 'rollout', 'status', 'deployment', `${RELEASE}-users`, '--timeout=180s'], {
          timeoutMs: 200_000,
        });
        await release.waitUntilReady(['gateway', 'users', 'orders', 'rabbitmq']);
      });
      expectExactlyOnce(figures);
      // The loss was felt (the broker was gone for a while) and answered, not hung.
      expect(figures.load.retried).toBeGreaterThan(0);
    }, 480_000);

    describe("again with RabbitMQ, PostgreSQL and Redis external: the first release's, as managed services", () => {
      const EXTERNAL = 'warren-external'; // its release, namespace and RabbitMQ vhost
      const external = new Release(EXTERNAL, EXTERNAL);
      const databaseOf = (component: 'users' | 'orders') => `warren_external_${component}`;
      let externalTarget: ApiTarget;
      let externalInstall = '';
      /** A server of the first release, addressed as a managed service would be: by a DNS name. */
      const host = (component: 'rabbitmq' | 'postgresql' | 'redis') =>
        `${RELEASE}-${component}.${NAMESPACE}.svc.cluster.local`;
      const inFirstRelease = (pod: string, ...command: string[]) =>
        kubectl(['-n', NAMESPACE, 'exec', pod, '--', ...command]);

      beforeAll(async () => {
        await kubectl(['delete', 'namespace', EXTERNAL, '--ignore-not-found', '--wait=true'], { timeoutMs: 180_000 });
        await kubectl(['create', 'namespace', EXTERNAL]);
        // What a platform team provisions on managed servers: a vhost, two databases and a Redis database of their
        // own, and the credentials in the Secrets charts/warren/ci/external-services.yaml names.
        const username: string = chartValues.rabbitmq.auth.username;
        await inFirstRelease(`${RELEASE}-rabbitmq-0`, 'rabbitmqctl', 'add_vhost', EXTERNAL);
        await inFirstRelease(
          `${RELEASE}-rabbitmq-0`,
          'rabbitmqctl',
          'set_permissions',
          '-p',
          EXTERNAL,
          username,
          '.*',
          '.*',
          '.*',
        );
        // One broker user per service with the chart's permissions (SECURITY.md), as an operator creates them on a
        // managed broker: here the first release's service users, given the same permissions on this vhost.
        for (const component of ['gateway', 'users', 'orders'] as const) {
          const { configure, write, read } = chartValues[component].brokerPermissions;
          await inFirstRelease(
            `${RELEASE}-rabbitmq-0`,
            'rabbitmqctl',
            'set_permissions',
            '-p',
            EXTERNAL,
            `${username}-${component}`,
            configure,
            write,
            read,
          );
        }
        for (const component of ['users', 'orders'] as const) {
          const sql = `CREATE DATABASE ${databaseOf(component)} OWNER ${chartValues.postgresql.databases[component].username}`;
          await inFirstRelease(
            `${RELEASE}-postgresql-0`,
            'sh',
            '-c',
            `PGPASSWORD="$POSTGRES_PASSWORD" psql -h 127.0.0.1 -U "$POSTGRES_USER" -d postgres -v ON_ERROR_STOP=1 -c '${sql}'`,
          );
        }
        const credentials = (await kubectlJson(['-n', NAMESPACE, 'get', 'secret', `${RELEASE}-credentials`])).data;
        const password = Buffer.from(credentials['rabbitmq-password'], 'base64').toString();
        const secret = (name: string, data: Record<string, string>) => ({
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name, namespace: EXTERNAL },
          type: 'Opaque',
          data,
        });
        const amqpUrl = `amqp://${username}:${password}@${host('rabbitmq')}:5672/${EXTERNAL}`;
        const secrets = [
          secret('warren-broker', {
            'rabbitmq-password': credentials['rabbitmq-password'],
            'amqp-url': Buffer.from(amqpUrl).toString('base64'),
            'rabbitmq-password-gateway': credentials['rabbitmq-password-gateway'],
            'rabbitmq-password-users': credentials['rabbitmq-password-users'],
            'rabbitmq-password-orders': credentials['rabbitmq-password-orders'],
          }),
          secret('warren-databases', {
            'users-db-password': credentials['users-db-password'],
            'orders-db-password': credentials['orders-db-password'],
          }),
          secret('warren-cache', { 'redis-password': credentials['redis-password'] }),
        ];
        // The first release's servers admit only its own components; a managed server's firewall would be opened
        // for the new clients the same way.
        const clients = {
          apiVersion: 'networking.k8s.io/v1',
          kind: 'NetworkPolicy',
          metadata: { name: `${EXTERNAL}-clients`, namespace: NAMESPACE },
          spec: {
            podSelector: {
              matchExpressions: [
                { key: 'app.kubernetes.io/instance', operator: 'In', values: [RELEASE] },
                { key: 'app.kubernetes.io/component', operator: 'In', values: ['rabbitmq', 'postgresql', 'redis'] },
              ],
            },
            policyTypes: ['Ingress'],
            ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': EXTERNAL } } }] }],
          },
        };
        await kubectl(['apply', '-f', '-'], {
          input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [...secrets, clients] }),
        });

        // charts/warren/ci/external-services.yaml as it is, with this cluster's addresses (no TLS in the first
        // release's servers) and the images loaded here.
        const server = (component: 'rabbitmq' | 'postgresql' | 'redis') => [
          {
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': NAMESPACE } },
            podSelector: {
              matchLabels: { 'app.kubernetes.io/instance': RELEASE, 'app.kubernetes.io/component': component },
            },
          },
        ];
        // Two releases and the observability stack share one node of two CPUs here: the second release's pods ask
        // for less CPU, or the last of them would stay Pending (the requests, not the use, fill the node).
        const smallRequests = { resources: { requests: { cpu: '20m' } } };
        const values = {
          image: { owner: chartValues.image.owner, tag: chartMetadata.appVersion },
          // ci/external-services.yaml names an issuer; this release's requests carry no tokens.
          gateway: { ...smallRequests, config: { authIssuer: '', authDisabled: true } },
          users: smallRequests,
          orders: smallRequests,
          rabbitmq: { vhost: EXTERNAL, external: { host: host('rabbitmq'), port: 5672, tls: false } },
          postgresql: {
            databases: {
              users: { name: databaseOf('users') },
              orders: { name: databaseOf('orders') },
            },
            external: { host: host('postgresql'), port: 5432, params: '' },
          },
          redis: { database: 1, external: { host: host('redis'), port: 6379, tls: false } },
          networkPolicy: {
            externalTo: { rabbitmq: server('rabbitmq'), postgresql: server('postgresql'), redis: server('redis') },
          },
        };
        const valuesFile = join(mkdtempSync(join(tmpdir(), 'warren-external-')), 'values.json');
        writeFileSync(valuesFile, JSON.stringify(values));
        const started = performance.now();
        externalInstall = await helm([
          'install',
          EXTERNAL,
          CHART,
          '--namespace',
          EXTERNAL,
          '--wait',
          '--timeout',
          '6m',
          '-f',
          join(CHART, 'ci/external-services.yaml'),
          '-f',
          valuesFile,
        ]);
        say(`helm install --wait with external servers: deployed, pre-install hooks done, in ${seconds(started)}`);
        externalTarget = await external.apiTarget(servicePorts);
      }, 600_000);

      // Whatever happened above: nothing of this release, its namespace or its firewall opening stays behind.
      afterAll(async () => {
        external.stopForwards();
        await helm(['uninstall', EXTERNAL, '--namespace', EXTERNAL, '--ignore-not-found', '--wait', '--timeout', '3m']);
        await kubectl(['delete', 'namespace', EXTERNAL, '--ignore-not-found', '--wait=true'], { timeoutMs: 180_000 });
        await kubectl(['-n', NAMESPACE, 'delete', 'networkpolicy', `${EXTERNAL}-clients`, '--ignore-not-found']);
      }, 420_000);

      it('runs no server of its own: migrations done before install, every pod Ready, NOTES printed', async () => {
        expect(externalInstall).toContain('STATUS: deployed');
        expect(externalInstall).toContain(`against the external PostgreSQL ${host('postgresql')}:5432`);
        say(`NOTES (external):\n${notesOf(externalInstall)}`);
        // The Deployments leave their size to the HorizontalPodAutoscalers, which bring each to its
        // minReplicas (2) within their sync period after the install.
        let last: Awaited<ReturnType<Release['servingPods']>> | undefined;
        const pods = await poll(
          'two Ready pods of each service',
          120_000,
          async () => {
            last = await external.servingPods();
            const complete =
              last.notReady.length === 0 &&
              last.components.join() === ['gateway', 'gateway', 'orders', 'orders', 'users', 'users'].join();
            return complete ? last : undefined;
          },
          2_000,
        ).catch(async (error: Error) => {
          const events = await kubectl(['-n', EXTERNAL, 'get', 'events', '--field-selector', 'type=Warning']);
          throw new Error(`${error.message}; last seen: ${JSON.stringify(last)}\n${events}`);
        });
        say(`external release: ${pods.components.length} pods Ready`);
        // Pre-install: the external PostgreSQL is there before anything of the release.
        expect(await external.migrations()).toEqual([
          { name: `${EXTERNAL}-orders-migrations`, events: ['pre-install', 'pre-upgrade'], phase: 'Succeeded' },
          { name: `${EXTERNAL}-users-migrations`, events: ['pre-install', 'pre-upgrade'], phase: 'Succeeded' },
        ]);
      }, 180_000);

      it('passes helm test', async () => {
        expect(await external.test()).toMatch(/Phase:\s+Succeeded/);
      }, 240_000);

      describeApiEndToEnd(() => externalTarget);

      it("keeps to its own vhost and databases: its workers consume there, its users are not the first release's", async () => {
        const user = await api(externalTarget.baseUrl, 'POST', '/v1/users', {
          body: { name: 'Managed', email: uniqueEmail('external') },
        });
        expect(user.status).toBe(201);
        // Isolation is what is checked here, not the first release's readiness while a second one starts beside
        // it on two CPUs (a CI run once found its gateway's NodePort without endpoints): reported, then waited for.
        const { notReady } = await release.servingPods();
        if (notReady.length > 0) say(`first release not Ready before reading through it: ${notReady.join(', ')}`);
        await release.waitUntilReady(['gateway', 'users', 'orders']);
        expect((await api(nodePortUrl, 'GET', `/v1/users/${user.body.id}`)).status).toBe(404);
        const queues = JSON.parse(
          await inFirstRelease(
            `${RELEASE}-rabbitmq-0`,
            'rabbitmqctl',
            '--formatter',
            'json',
            'list_queues',
            '-p',
            EXTERNAL,
            'name',
            'consumers',
          ),
        ) as { name: string; consumers: number }[];
        const consumers = Object.fromEntries(queues.map((queue) => [queue.name, queue.consumers]));
        say(`queues of vhost ${EXTERNAL}: ${JSON.stringify(consumers)}`);
        // Every route's queue has the release's workers on it (the first release's are on vhost warren); the
        // dead-letter queues have none.
        const routeQueues = Object.entries(consumers).filter(([name]) => !name.endsWith('.dead-letter'));
        expect(routeQueues.length).toBeGreaterThanOrEqual(8);
        for (const [name, count] of routeQueues) expect([name, count >= 1]).toEqual([name, true]);
      }, 300_000);

      it("uninstalls, leaving nothing: every Secret it used was the operator's", async () => {
        expect(await external.uninstall()).toEqual([]);
      }, 240_000);
    });

    it('uninstalls, leaving only what the chart documents: the data volumes and the credentials Secret', async () => {
      for (const portForward of forwards.splice(0)) portForward.stop();
      expect(await release.uninstall()).toEqual([
        `PersistentVolumeClaim/data-${RELEASE}-postgresql-0`,
        `PersistentVolumeClaim/data-${RELEASE}-rabbitmq-0`,
        `Secret/${RELEASE}-credentials`,
      ]);
      await kubectl(['delete', 'namespace', NAMESPACE, 'observability', '--wait=true'], { timeoutMs: 180_000 });
      await kubectl(['delete', 'pv', '-l', 'warren.test/local-volume=true', '--ignore-not-found']);
    }, 300_000);
  });
}
