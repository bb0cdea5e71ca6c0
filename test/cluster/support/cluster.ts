import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { REPOSITORY_ROOT } from '@warren/launcher';

const run = promisify(execFile);

/** The kind cluster users create, and the GitHub workflow's kind job (helm/kind-action `config`). */
export const KIND_CONFIG = join(REPOSITORY_ROOT, 'k8s/kind/cluster.yaml');

/**
 * Which cluster test/cluster runs on, from WARREN_CLUSTER: `warren` (default) is the one scripts/cluster.sh runs on
 * this machine; `kind` is a kind cluster (the GitHub workflow), named by WARREN_KIND_CLUSTER (default `warren`).
 */
interface ClusterSetup {
  name: string;
  kubectl: string;
  kubeconfig: string;
  /** How images get from the container engine into the cluster's runtime. */
  load: [command: string, ...args: string[]];
  /** The release's claims need PersistentVolumes made for them (no dynamic provisioner), or bind by themselves. */
  localVolumes: boolean;
  /** The gateway Service's nodePort, when the cluster serves only a fixed one on 127.0.0.1; else any. */
  gatewayNodePort: number | undefined;
  /** Whether the CNI enforces NetworkPolicies. */
  enforcesNetworkPolicies: boolean;
  howToStart: string;
}

function clusterSetup(): ClusterSetup {
  const provider = process.env.WARREN_CLUSTER ?? 'warren';
  if (provider === 'kind') {
    const name = process.env.WARREN_KIND_CLUSTER ?? 'warren';
    // The node port kind publishes on 127.0.0.1 (extraPortMappings) is the one the gateway must take.
    const kind = parse(readFileSync(KIND_CONFIG, 'utf8')) as {
      nodes: { extraPortMappings?: { containerPort: number }[] }[];
    };
    const nodePort = kind.nodes
      .flatMap((node) => node.extraPortMappings ?? [])
      .find((mapping) => mapping.containerPort >= 30_000 && mapping.containerPort <= 32_767);
    return {
      name: `kind cluster "${name}"`,
      kubectl: 'kubectl',
      kubeconfig: process.env.KUBECONFIG ?? join(homedir(), '.kube/config'),
      load: ['kind', 'load', 'docker-image', '--name', name],
      localVolumes: false,
      gatewayNodePort: nodePort?.containerPort,
      // kind >= 0.24 ships kube-network-policies with its default CNI.
      enforcesNetworkPolicies: true,
      howToStart: `kind create cluster --name ${name} --config ${KIND_CONFIG}`,
    };
  }
  if (provider !== 'warren') throw new Error(`WARREN_CLUSTER=${provider}: expected "warren" or "kind"`);
  // What scripts/cluster.sh up leaves in the checkout: the admin kubeconfig and the kubectl it was built with.
  const state = join(REPOSITORY_ROOT, '.tools/cluster');
  return {
    name: 'the scripts/cluster.sh cluster',
    kubectl: join(state, 'kubectl'),
    kubeconfig: join(state, 'admin.kubeconfig'),
    load: [join(REPOSITORY_ROOT, 'scripts/cluster.sh'), 'load'],
    localVolumes: true,
    gatewayNodePort: undefined,
    // The bridge and host-local plugins ignore them.
    enforcesNetworkPolicies: false,
    howToStart: 'scripts/cluster.sh up',
  };
}

export const CLUSTER = clusterSetup();
const KUBECTL = CLUSTER.kubectl;
const KUBECONFIG = CLUSTER.kubeconfig;
/** helm at the version scripts/tools.sh pins. */
export const HELM = join(REPOSITORY_ROOT, '.tools/bin/helm');

const environment = () => ({ ...process.env, KUBECONFIG });

/** Why no cluster answers, or undefined when it does. Synchronous: the test list depends on it. */
export function clusterProblem(): string | undefined {
  if (!existsSync(KUBECONFIG)) return `no ${KUBECONFIG}: ${CLUSTER.howToStart}`;
  const nodes = spawnSync(KUBECTL, ['get', 'nodes', '--request-timeout=10s'], { encoding: 'utf8', env: environment() });
  if (nodes.status !== 0) {
    return `${CLUSTER.name}: kubectl get nodes: ${(nodes.stderr || nodes.error?.message || '').trim()}`;
  }
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

/** Images from the container engine into the cluster's runtime (scripts/cluster.sh load, or kind load). */
export async function loadImages(images: string[]): Promise<void> {
  const [command, ...args] = CLUSTER.load;
  await run(command, [...args, ...images], { timeout: 600_000 });
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

/** Under scripts/cluster.sh's VAR, which its `down` removes. */
const LOCAL_VOLUMES = '/var/lib/warren-cluster/volumes';

/**
 * PersistentVolumes for the release's claims where the cluster has no dynamic provisioner (scripts/cluster.sh's):
 * each claim binds one of these (hostPath under the cluster's own folder, removed by scripts/cluster.sh down),
 * world-writable like the directories of a local-path provisioner, so the images' non-root users can write them.
 * Nothing to do on a cluster whose default StorageClass provisions them (kind's).
 */
export async function createLocalVolumes(names: string[], sizeGi = 20): Promise<void> {
  if (!CLUSTER.localVolumes) return;
  const folder = (name: string) => join(LOCAL_VOLUMES, name);
  const manifests = names.map((name) => ({
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name, labels: { 'warren.test/local-volume': 'true' } },
    spec: {
      capacity: { storage: `${sizeGi}Gi` },
      accessModes: ['ReadWriteOnce'],
      persistentVolumeReclaimPolicy: 'Retain',
      hostPath: { path: folder(name), type: 'DirectoryOrCreate' },
    },
  }));
  await kubectl(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: manifests }) });
  for (const name of names) {
    // Empty, as a new volume is: an earlier run's data (and its passwords) must not carry over.
    rmSync(folder(name), { recursive: true, force: true });
    await run('install', ['-d', '-m', '0777', folder(name)]);
  }
}
