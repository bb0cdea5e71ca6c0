/**
 * The Helm chart installed for real, on the single-node cluster scripts/cluster.sh runs (Kubernetes 1.34 built from
 * source): the images of scripts/images.sh loaded into its containerd, `helm install --wait` with the in-chart
 * RabbitMQ, PostgreSQL and Redis, `helm test`, the API end to end through the gateway's Service (kubectl
 * port-forward on 127.0.0.1), then `helm uninstall`, which must leave only what the chart documents.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { REPOSITORY_ROOT } from '@warren/launcher';
import { describeApiEndToEnd, type ApiTarget } from '../e2e/support/api-scenarios';
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

    const forward = async (service: string, port: number) => {
      const portForward = new PortForward(NAMESPACE, `service/${RELEASE}-${service}`, port);
      forwards.push(portForward);
      return await portForward.start();
    };

    beforeAll(async () => {
      if (problem !== undefined) throw new Error(`no cluster, and WARREN_REQUIRE_CLUSTER=true: ${problem}`);
      const images = releaseImages();
      for (const [local, name] of images.tag) execFileSync(process.env.DOCKER ?? 'docker', ['tag', local, name]);
      let started = performance.now();
      await loadImages(images.load);
      say(`images loaded into the cluster in ${seconds(started)}: ${images.load.join(', ')}`);

      // A run that was interrupted leaves its namespace behind.
      await kubectl(['delete', 'namespace', NAMESPACE, '--ignore-not-found', '--wait=true'], { timeoutMs: 180_000 });
      await kubectl(['delete', 'pv', '-l', 'warren.test/local-volume=true', '--ignore-not-found']);
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
        // No collector runs in this cluster yet: the services would retry exporting for nothing.
        '--set',
        'otel.enabled=false',
      ]);
      say(`helm install --wait: deployed, post-install hooks done, in ${seconds(started)}`);
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
      // The migrations Jobs are post-install hooks deleted when they succeed: the release's hooks say they ran.
      const hooks = await helm(['get', 'hooks', RELEASE, '--namespace', NAMESPACE]);
      expect(hooks).toMatch(/kind: Job[\s\S]*migrat/);
    });

    it('passes helm test', async () => {
      const output = await helm(['test', RELEASE, '--namespace', NAMESPACE, '--timeout', '3m']);
      expect(output).toMatch(/Phase:\s+Succeeded/);
    }, 240_000);

    describeApiEndToEnd(() => target);

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
      await kubectl(['delete', 'namespace', NAMESPACE, '--wait=true'], { timeoutMs: 180_000 });
      await kubectl(['delete', 'pv', '-l', 'warren.test/local-volume=true', '--ignore-not-found']);
    }, 300_000);
  });
}
