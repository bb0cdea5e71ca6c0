import type { ApiTarget } from '../../e2e/support/api-scenarios';
import { helm, kubectl, kubectlJson, PortForward } from './cluster';

/** What the chart labels with app.kubernetes.io/instance, and so what `helm uninstall` must account for. */
const RELEASE_KINDS =
  'deployments,statefulsets,services,configmaps,secrets,jobs,pods,pvc,serviceaccounts,networkpolicies,poddisruptionbudgets,horizontalpodautoscalers';

/** One installed release of the chart, as the tests look at it: its pods, hooks, Services and leftovers. */
export class Release {
  private readonly forwards: PortForward[] = [];

  constructor(
    readonly name: string,
    readonly namespace: string,
  ) {}

  /** `kubectl port-forward` to one of the release's Services; stopped by stopForwards(). */
  async forward(component: string, port: number): Promise<string> {
    const portForward = new PortForward(this.namespace, `service/${this.name}-${component}`, port);
    this.forwards.push(portForward);
    return await portForward.start();
  }

  /** The API through port-forwards to the gateway's Service and each worker's ops port. */
  async apiTarget(ports: { gateway: number; users: number; orders: number }): Promise<ApiTarget> {
    const opsUrls = {
      users: await this.forward('users', ports.users),
      orders: await this.forward('orders', ports.orders),
    };
    return { baseUrl: await this.forward('gateway', ports.gateway), opsUrl: (worker) => opsUrls[worker] };
  }

  stopForwards(): void {
    for (const portForward of this.forwards.splice(0)) portForward.stop();
  }

  /** The components of the pods that should be serving (not finished Jobs), and those of them not Ready. */
  async servingPods(): Promise<{ components: string[]; notReady: string[] }> {
    const pods = await kubectlJson<{ items: any[] }>(['-n', this.namespace, 'get', 'pods']);
    const serving = pods.items.filter((pod) => pod.status.phase !== 'Succeeded');
    return {
      components: serving.map((pod) => pod.metadata.labels['app.kubernetes.io/component'] as string).sort(),
      notReady: serving
        .filter((pod) => !pod.status.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True'))
        .map((pod) => {
          const restarts = (pod.status.containerStatuses ?? []).reduce(
            (sum: number, c: any) => sum + c.restartCount,
            0,
          );
          return `${pod.metadata.name} ${pod.status.phase} restarts=${restarts}`;
        }),
    };
  }

  /** Waits (up to 180 s) until every pod of these components in the release's namespace is Ready. */
  async waitUntilReady(components: string[]): Promise<void> {
    const selector = `app.kubernetes.io/component in (${components.join(',')})`;
    await kubectl(['-n', this.namespace, 'wait', '--for=condition=Ready', 'pod', '-l', selector, '--timeout=180s'], {
      timeoutMs: 200_000,
    });
  }

  /** How the migration Jobs ran, as the release records it (they are deleted once they succeed). */
  async migrations(): Promise<{ name: string; events: string[]; phase: string }[]> {
    const status = JSON.parse(await helm(['status', this.name, '--namespace', this.namespace, '-o', 'json'])) as {
      hooks: { name: string; kind: string; events: string[]; last_run: { phase: string } }[];
    };
    return status.hooks
      .filter((hook) => hook.kind === 'Job' && hook.name.includes('migrations'))
      .map((hook) => ({ name: hook.name, events: hook.events, phase: hook.last_run.phase }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** `helm test`'s output. */
  async test(): Promise<string> {
    return await helm(['test', this.name, '--namespace', this.namespace, '--timeout', '3m']);
  }

  /** Stops the port-forwards, uninstalls, and lists what of the release is left (kind/name, sorted). */
  async uninstall(): Promise<string[]> {
    this.stopForwards();
    await helm(['uninstall', this.name, '--namespace', this.namespace, '--wait', '--timeout', '3m']);
    const left = await kubectlJson<{ items: any[] }>([
      '-n',
      this.namespace,
      'get',
      RELEASE_KINDS,
      '-l',
      `app.kubernetes.io/instance=${this.name}`,
    ]);
    return left.items
      .filter((item) => !(item.kind === 'Pod' && item.metadata.deletionTimestamp))
      .map((item) => `${item.kind}/${item.metadata.name}`)
      .sort();
  }
}

/** The NOTES part of `helm install`'s output. */
export const notesOf = (installOutput: string) =>
  installOutput.slice(installOutput.indexOf('NOTES:') + 'NOTES:'.length).trim();
