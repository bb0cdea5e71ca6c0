import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPOSITORY_ROOT } from '@warren/launcher';

const run = promisify(execFile);

/** What scripts/cluster.sh up leaves in the checkout: the admin kubeconfig and the kubectl it was built with. */
const STATE = join(REPOSITORY_ROOT, '.tools/cluster');
export const KUBECONFIG = join(STATE, 'admin.kubeconfig');
export const KUBECTL = join(STATE, 'kubectl');
/** helm at the version scripts/tools.sh pins. */
export const HELM = join(REPOSITORY_ROOT, '.tools/bin/helm');
export const CLUSTER_SCRIPT = join(REPOSITORY_ROOT, 'scripts/cluster.sh');

const environment = () => ({ ...process.env, KUBECONFIG });

/** Why no cluster answers, or undefined when it does. Synchronous: the test list depends on it. */
export function clusterProblem(): string | undefined {
  if (!existsSync(KUBECTL) || !existsSync(KUBECONFIG)) return `no ${KUBECTL} / ${KUBECONFIG}: scripts/cluster.sh up`;
  const nodes = spawnSync(KUBECTL, ['get', 'nodes', '--request-timeout=10s'], { encoding: 'utf8', env: environment() });
  if (nodes.status !== 0) return `kubectl get nodes: ${(nodes.stderr || nodes.error?.message || '').trim()}`;
  if (!existsSync(HELM)) return `no ${HELM}: scripts/tools.sh helm`;
  return undefined;
}

export async function kubectl(
  args: string[],
  { timeoutMs = 60_000, input }: { timeoutMs?: number; input?: string } = {},
) {
  if (input === undefined) {
    const { stdout } = await run(KUBECTL, args, { env: environment(), timeout: timeoutMs, maxBuffer: 32 << 20 });
    return stdout;
  }
  return await new Promise<string>((resolve, reject) => {
    const child = execFile(KUBECTL, args, { env: environment(), timeout: timeoutMs }, (error, stdout, stderr) =>
      error ? reject(new Error(`kubectl ${args.join(' ')}: ${stderr || error.message}`)) : resolve(stdout),
    );
    child.stdin?.end(input);
  });
}

export async function kubectlJson<T = any>(args: string[]): Promise<T> {
  return JSON.parse(await kubectl([...args, '-o', 'json'])) as T;
}

export async function helm(args: string[], timeoutMs = 420_000): Promise<string> {
  try {
    const { stdout } = await run(HELM, args, { env: environment(), timeout: timeoutMs, maxBuffer: 32 << 20 });
    return stdout;
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`helm ${args.join(' ')} failed:\n${stderr}\n${stdout.slice(-4000)}`);
  }
}

/** Images from the container engine into the cluster's containerd (scripts/cluster.sh load). */
export async function loadImages(images: string[]): Promise<void> {
  await run(CLUSTER_SCRIPT, ['load', ...images], { timeout: 600_000 });
}

/**
 * `kubectl port-forward --address 127.0.0.1` to a Service on a free local port: the way a user reaches a ClusterIP
 * Service from their machine. `url` once it forwards; `stop()` ends it.
 */
export class PortForward {
  private child: ChildProcess | undefined;

  constructor(
    private readonly namespace: string,
    private readonly target: string,
    private readonly remotePort: number,
  ) {}

  async start(timeoutMs = 20_000): Promise<string> {
    const child = spawn(
      KUBECTL,
      ['-n', this.namespace, 'port-forward', '--address', '127.0.0.1', this.target, `:${this.remotePort}`],
      { env: environment(), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    return await new Promise<string>((resolve, reject) => {
      let output = '';
      const timer = setTimeout(() => reject(new Error(`port-forward ${this.target}: ${output}`)), timeoutMs);
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        const match = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(output);
        if (match) {
          clearTimeout(timer);
          resolve(`http://127.0.0.1:${match[1]}`);
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`port-forward ${this.target} exited ${code}: ${output}`));
      });
    });
  }

  stop(): void {
    this.child?.kill();
    this.child = undefined;
  }
}

/**
 * PersistentVolumes for the release's claims: this cluster has no dynamic provisioner, so each claim binds one of
 * these (hostPath under the cluster's own folder, removed by scripts/cluster.sh down), world-writable like the
 * directories of a local-path provisioner, so the images' non-root users can write them.
 */
export async function createLocalVolumes(names: string[], sizeGi = 20): Promise<void> {
  const manifests = names.map((name) => ({
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name, labels: { 'warren.test/local-volume': 'true' } },
    spec: {
      capacity: { storage: `${sizeGi}Gi` },
      accessModes: ['ReadWriteOnce'],
      persistentVolumeReclaimPolicy: 'Retain',
      hostPath: { path: `/var/lib/warren-cluster/volumes/${name}`, type: 'DirectoryOrCreate' },
    },
  }));
  await kubectl(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: manifests }) });
  for (const name of names) {
    // Empty, as a new volume is: an earlier run's data (and its passwords) must not carry over.
    rmSync(`/var/lib/warren-cluster/volumes/${name}`, { recursive: true, force: true });
    await run('install', ['-d', '-m', '0777', `/var/lib/warren-cluster/volumes/${name}`]);
  }
}
