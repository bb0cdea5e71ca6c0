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
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { REPOSITORY_ROOT } from '@warren/launcher';
import { describeApiEndToEnd, type ApiTarget } from '../e2e/support/api-scenarios';
import { api, uniqueEmail } from '../e2e/support/http';
import { waitForTrace, type Span } from '../e2e/support/jaeger-query';
import { poll } from '../e2e/support/poll';
import { auditDatabases } from '../faults/support/audit';
import { summaryTable, type ScenarioFigures } from '../faults/support/fault-suite';
import { expectExactlyOnce } from '../faults/support/expectations';
import { LoadDriver, summarize } from '../faults/support/load-driver';
import {
  clusterProblem,
  createLocalVolumes,
  helm,
  kubectl,
  kubectlJson,
  loadImages,
  PortForward,
} from './support/cluster';

jest.setTimeout(120_000);

const NAMESPACE = 'warren-test';
const RELEASE = 'warren';
const CHART = join(REPOSITORY_ROOT, 'charts/warren');
const say = (text: string) => process.stdout.write(`[cluster] ${text}\n`);
const seconds = (since: number) => `${((performance.now() - since) / 1000).toFixed(1)} s`;

/** The images the release runs: the services under the chart's default names, and its backing services. */
function releaseImages(): { tag: [string, string][]; load: string[] } {
  const chart = parse(readFileSync(join(CHART, 'Chart.yaml'), 'utf8')) as { appVersion: string };
  const values = parse(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as any;
  const tag = (['gateway', 'users', 'orders'] as const).map(
    (service) =>
      [
        `warren-${service}:dev`,
        `${values.image.registry}/${values.image.owner}/warren-${service}:${chart.appVersion}`,
      ] as [string, string],
  );
  const backing = ['rabbitmq', 'postgresql', 'redis'].map(
    (name) => `${values[name].image.repository}:${values[name].image.tag}`,
  );
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
    const forwards: PortForward[] = [];
    let target: ApiTarget;
    let installOutput = '';
    /** http://127.0.0.1:<the gateway Service's NodePort> */
    let nodePortUrl: string;

    const forward = async (service: string, port: number) => {
      const portForward = new PortForward(NAMESPACE, `service/${RELEASE}-${service}`, port);
      forwards.push(portForward);
      return await portForward.start();
    };

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
        '--set',
        'gateway.service.type=NodePort',
      ]);
      say(`helm install --wait: deployed, post-install hooks done, in ${seconds(started)}`);
      const gatewayService = await kubectlJson(['-n', NAMESPACE, 'get', 'service', `${RELEASE}-gateway`]);
      nodePortUrl = `http://127.0.0.1:${gatewayService.spec.ports[0].nodePort}`;
      const values = parse(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as any;
      const opsUrls = {
        users: await forward('users', values.users.opsPort),
        orders: await forward('orders', values.orders.opsPort),
      };
      target = { baseUrl: await forward('gateway', values.gateway.service.port), opsUrl: (worker) => opsUrls[worker] };
    }, 720_000);

    afterAll(() => {
      for (const portForward of forwards) portForward.stop();
    });

    it('prints the NOTES and leaves every pod Ready, the migrations done', async () => {
      expect(installOutput).toContain('STATUS: deployed');
      expect(installOutput).toContain(`is installed as release "${RELEASE}"`);
      say(`NOTES:\n${installOutput.slice(installOutput.indexOf('NOTES:') + 'NOTES:'.length).trim()}`);
      const pods = await kubectlJson<{ items: any[] }>(['-n', NAMESPACE, 'get', 'pods']);
      const notReady = pods.items
        .filter((pod) => pod.status.phase !== 'Succeeded')
        .filter((pod) => !pod.status.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True'))
        .map((pod) => `${pod.metadata.name} ${pod.status.phase}`);
      expect(notReady).toEqual([]);
      const components = new Set(pods.items.map((pod) => pod.metadata.labels['app.kubernetes.io/component']));
      expect([...components].sort()).toEqual(
        expect.arrayContaining(['gateway', 'orders', 'postgresql', 'rabbitmq', 'redis', 'users']),
      );
      // The migrations Jobs are post-install hooks, deleted once they succeed: the release records how each ran.
      const status = JSON.parse(await helm(['status', RELEASE, '--namespace', NAMESPACE, '-o', 'json'])) as {
        hooks: { name: string; kind: string; last_run: { phase: string } }[];
      };
      const migrations = status.hooks.filter((hook) => hook.kind === 'Job' && hook.name.includes('migrations'));
      expect(migrations.map((hook) => [hook.name, hook.last_run.phase]).sort()).toEqual(
        [
          [`${RELEASE}-orders-migrations`, 'Succeeded'],
          [`${RELEASE}-users-migrations`, 'Succeeded'],
        ].sort(),
      );
    });

    it('passes helm test', async () => {
      const output = await helm(['test', RELEASE, '--namespace', NAMESPACE, '--timeout', '3m']);
      expect(output).toMatch(/Phase:\s+Succeeded/);
    }, 240_000);

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
      const user = await api(nodePortUrl, 'POST', '/v1/users', { body: { name: 'Traced', email: uniqueEmail('k8s') } });
      expect(user.status).toBe(201);
      const traceId = randomBytes(16).toString('hex');
      const created = await api(nodePortUrl, 'POST', '/v1/orders', {
        body: { userId: user.body.id, currency: 'EUR', items: [{ sku: 'BOOK-1', quantity: 1, unitPriceCents: 990 }] },
        headers: { traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` },
      });
      expect(created.status).toBe(201);
      const jaeger = new PortForward('observability', 'service/jaeger', 16686);
      forwards.push(jaeger);
      const has = (spans: Span[], service: string, name: string, kind: string) =>
        spans.some((span) => span.service === service && span.name === name && span.kind === kind);
      const { spans } = await waitForTrace(
        await jaeger.start(),
        traceId,
        (all) =>
          all.some((span) => span.service === 'gateway' && span.kind === 'server') &&
          has(all, 'orders', 'orders.create', 'server') &&
          has(all, 'users', 'users.get', 'server'),
        60_000,
      );
      say(`trace ${traceId}: ${spans.length} spans from ${[...new Set(spans.map((span) => span.service))].join(', ')}`);
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

    it('ships NetworkPolicies; says whether this cluster enforces them (a pod of another namespace dials PostgreSQL)', async () => {
      const policies = await kubectlJson<{ items: any[] }>(['-n', NAMESPACE, 'get', 'networkpolicies']);
      const names = policies.items.map((policy) => policy.metadata.name as string);
      expect(names).toEqual(expect.arrayContaining([`${RELEASE}-postgresql`, `${RELEASE}-rabbitmq`]));
      // Only the workers (and the migrations) may reach PostgreSQL; this pod is in the default namespace.
      const pod = `netpol-probe-${randomBytes(3).toString('hex')}`;
      await kubectl([
        'run',
        pod,
        '--namespace',
        'default',
        '--restart=Never',
        '--image=warren-cluster/busybox:local',
        '--image-pull-policy=Never',
        '--command',
        '--',
        'timeout',
        '5',
        'nc',
        `${RELEASE}-postgresql.${NAMESPACE}.svc.cluster.local`,
        '5432',
      ]);
      const phase = await poll(
        'the probe pod finished',
        60_000,
        async () => {
          const current: string = (await kubectlJson(['-n', 'default', 'get', 'pod', pod])).status.phase;
          return ['Succeeded', 'Failed'].includes(current) ? current : undefined;
        },
        1_000,
      );
      await kubectl(['-n', 'default', 'delete', 'pod', pod, '--wait=false']);
      // This cluster's CNI does not enforce policies, so the dial succeeds (a DNS or image failure would fail here).
      // On a CNI that enforces them this turns red, and the expectation becomes the refusal.
      expect(phase).toBe('Succeeded');
      say(
        `NetworkPolicies NOT enforced here: the CNI (bridge + host-local) ignores them, so a pod of another namespace reached ${RELEASE}-postgresql:5432. The ${names.length} policies are admitted by the API server; enforcing them needs a policy-aware CNI (Calico, Cilium, kindnet with network policies).`,
      );
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

    /** Exactly once, and nothing the client could see: no attempt refused, none retried, while pods were replaced. */
    const expectUndisturbed = (figures: ScenarioFigures) => {
      expectExactlyOnce(figures);
      expect(figures.load.status503 + figures.load.status504 + figures.load.connectionErrors).toBe(0);
      expect(figures.load.retried).toBe(0);
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
        await kubectl(
          [
            '-n',
            NAMESPACE,
            'wait',
            '--for=condition=Ready',
            'pod',
            '-l',
            'app.kubernetes.io/component in (gateway,users,orders,rabbitmq)',
            '--timeout=180s',
          ],
          { timeoutMs: 200_000 },
        );
      });
      expectExactlyOnce(figures);
      // The loss was felt (the broker was gone for a while) and answered, not hung.
      expect(figures.load.retried).toBeGreaterThan(0);
    }, 480_000);

    it('uninstalls, leaving only what the chart documents: the data volumes and the credentials Secret', async () => {
      for (const portForward of forwards.splice(0)) portForward.stop();
      await helm(['uninstall', RELEASE, '--namespace', NAMESPACE, '--wait', '--timeout', '3m']);
      const left = await kubectlJson<{ items: any[] }>([
        '-n',
        NAMESPACE,
        'get',
        'deployments,statefulsets,services,configmaps,secrets,jobs,pods,pvc,serviceaccounts,networkpolicies,poddisruptionbudgets,horizontalpodautoscalers',
        '-l',
        `app.kubernetes.io/instance=${RELEASE}`,
      ]);
      const names = left.items
        .filter((item) => !(item.kind === 'Pod' && item.metadata.deletionTimestamp))
        .map((item) => `${item.kind}/${item.metadata.name}`)
        .sort();
      expect(names).toEqual([
        `PersistentVolumeClaim/data-${RELEASE}-postgresql-0`,
        `PersistentVolumeClaim/data-${RELEASE}-rabbitmq-0`,
        `Secret/${RELEASE}-credentials`,
      ]);
      await kubectl(['delete', 'namespace', NAMESPACE, 'observability', '--wait=true'], { timeoutMs: 180_000 });
      await kubectl(['delete', 'pv', '-l', 'warren.test/local-volume=true', '--ignore-not-found']);
    }, 300_000);
  });
}
