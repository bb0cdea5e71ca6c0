/**
 * The Helm chart (charts/warren), rendered with `helm template` for the default values and every ci/*.yaml, and the
 * k8s/observability kustomization: what must hold for every object, whatever the values. The schemas of the
 * rendered objects (Kubernetes 1.34, strict), checkov and helm lint are scripts/check-chart.sh.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import * as contracts from '@warren/contracts';
import {
  DEFAULT_DEAD_LETTER_EXCHANGE,
  deadLetterQueueOf,
  DIRECT_REPLY_QUEUE,
  queueNameOf,
  routeQueuePolicy,
} from '@warren/rpc';
import { loadConfig as loadGatewayConfig } from '../../services/gateway/src/config';
import { loadConfig as loadOrdersConfig } from '../../services/orders/src/config';
import { loadConfig as loadUsersConfig } from '../../services/users/src/config';

const ROOT = resolve(__dirname, '../..');
const CHART = join(ROOT, 'charts/warren');
const KUBE_VERSION = '1.34.0';
const NAMESPACE = 'warren';
const RELEASE = 'test';
const VALUE_FILES = readdirSync(join(CHART, 'ci'))
  .filter((name) => name.endsWith('.yaml'))
  .sort();
const RENDERS = ['default', ...VALUE_FILES];

let helm = '';

/** helm from HELM, .tools/bin or PATH; built with scripts/tools.sh when there is none. */
function findHelm(): string {
  const candidates = [process.env.HELM, join(ROOT, '.tools/bin/helm')].filter((path): path is string => !!path);
  for (const candidate of candidates) if (existsSync(candidate)) return candidate;
  if (spawnSync('helm', ['version', '--short']).status === 0) return 'helm';
  execFileSync(join(ROOT, 'scripts/tools.sh'), ['helm'], { stdio: 'inherit' });
  return join(ROOT, '.tools/bin/helm');
}

interface Rendered {
  objects: any[];
  errors: string;
  status: number | null;
}

/** An issuer for renders that name no authentication choice of their own: the chart requires one. */
const ISSUER = ['--set', 'gateway.config.authIssuer=https://login.example.com/realms/warren'];
const choosesAuthentication = (args: string[]) =>
  args.some((arg) => arg === '--values' || arg.startsWith('gateway.config.auth'));

function helmTemplate(args: string[]): Rendered {
  return helmTemplateExactly(choosesAuthentication(args) ? args : [...ISSUER, ...args]);
}

function helmTemplateExactly(args: string[]): Rendered {
  const result = spawnSync(
    helm,
    ['template', RELEASE, CHART, '--namespace', NAMESPACE, '--kube-version', KUBE_VERSION, ...args],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  const objects =
    result.status === 0
      ? parseAllDocuments(result.stdout)
          .map((document) => document.toJS())
          .filter((object) => object && typeof object === 'object')
      : [];
  return { objects, errors: result.stderr, status: result.status };
}

function render(name: string, extra: string[] = []): any[] {
  const args = name === 'default' ? [] : ['--values', join(CHART, 'ci', name)];
  const rendered = helmTemplate([...args, ...extra]);
  if (rendered.status !== 0) throw new Error(`helm template ${name} failed: ${rendered.errors}`);
  return rendered.objects;
}

const renders = new Map<string, any[]>();
const rendered = (name: string): any[] => renders.get(name) ?? [];

beforeAll(() => {
  helm = findHelm();
  for (const name of RENDERS) renders.set(name, render(name));
}, 600_000);

const ofKind = (objects: any[], kind: string) => objects.filter((object) => object.kind === kind);
const named = (objects: any[], kind: string, name: string) =>
  objects.find((object) => object.kind === kind && object.metadata.name === name);

/** The pod spec of a workload (Deployment, StatefulSet, Job) or a Pod. */
function podSpec(object: any): any | undefined {
  if (object.kind === 'Pod') return object.spec;
  if (['Deployment', 'StatefulSet', 'Job', 'DaemonSet'].includes(object.kind)) return object.spec.template.spec;
  return undefined;
}

function workloads(objects: any[]): { object: any; spec: any }[] {
  return objects.map((object) => ({ object, spec: podSpec(object) })).filter(({ spec }) => spec !== undefined);
}

function containersOf(spec: any): any[] {
  return [...(spec.initContainers ?? []), ...(spec.containers ?? [])];
}

const id = (object: any) => `${object.kind}/${object.metadata.name}`;

function envValue(container: any, name: string): any {
  return (container.env ?? []).find((variable: any) => variable.name === name);
}

describe.each(RENDERS)('chart rendered with %s values', (name) => {
  const objects = () => rendered(name);

  it('renders objects', () => {
    expect(objects().length).toBeGreaterThan(10);
  });

  it('labels every object (and every pod template) with the app.kubernetes.io set', () => {
    const keys = ['name', 'instance', 'version', 'component', 'part-of', 'managed-by'].map(
      (key) => `app.kubernetes.io/${key}`,
    );
    const missing: string[] = [];
    for (const object of objects()) {
      const labels = object.metadata.labels ?? {};
      for (const key of keys) if (!labels[key]) missing.push(`${id(object)}: ${key}`);
      const template = object.spec?.template?.metadata?.labels;
      if (template) for (const key of keys) if (!template[key]) missing.push(`${id(object)} pod template: ${key}`);
    }
    expect(missing).toEqual([]);
    for (const object of objects()) {
      expect(object.metadata.labels['app.kubernetes.io/part-of']).toBe('warren');
      expect(object.metadata.labels['app.kubernetes.io/managed-by']).toBe('Helm');
    }
  });

  it('puts every namespaced object in the release namespace', () => {
    for (const object of objects().filter((o) => !o.kind.startsWith('Cluster'))) {
      if (object.kind === 'ConfigMap' && object.metadata.labels['grafana_dashboard']) continue;
      expect(`${id(object)} ${object.metadata.namespace}`).toBe(`${id(object)} ${NAMESPACE}`);
    }
  });

  it('runs every container, init container, hook and test pod as non-root, read-only, without capabilities', () => {
    const problems: string[] = [];
    for (const { object, spec } of workloads(objects())) {
      const pod = spec.securityContext ?? {};
      if (spec.automountServiceAccountToken !== false) problems.push(`${id(object)}: service account token mounted`);
      if (spec.hostNetwork || spec.hostPID || spec.hostIPC) problems.push(`${id(object)}: host namespaces`);
      for (const container of containersOf(spec)) {
        const where = `${id(object)} ${container.name}`;
        const sc = container.securityContext ?? {};
        const runAsNonRoot = sc.runAsNonRoot ?? pod.runAsNonRoot;
        const runAsUser = sc.runAsUser ?? pod.runAsUser;
        const seccomp = (sc.seccompProfile ?? pod.seccompProfile)?.type;
        if (runAsNonRoot !== true) problems.push(`${where}: runAsNonRoot is not true`);
        if (typeof runAsUser !== 'number' || runAsUser === 0) problems.push(`${where}: runAsUser ${runAsUser}`);
        if (sc.readOnlyRootFilesystem !== true) problems.push(`${where}: root file system is writable`);
        if (sc.allowPrivilegeEscalation !== false) problems.push(`${where}: privilege escalation allowed`);
        if (sc.privileged === true) problems.push(`${where}: privileged`);
        if (!(sc.capabilities?.drop ?? []).includes('ALL')) problems.push(`${where}: capabilities not dropped`);
        if (sc.capabilities?.add?.length) problems.push(`${where}: capabilities added`);
        if (seccomp !== 'RuntimeDefault') problems.push(`${where}: seccomp ${seccomp}`);
        if (!container.resources?.requests?.cpu || !container.resources?.requests?.memory)
          problems.push(`${where}: no resource requests`);
        if (!container.resources?.limits?.memory) problems.push(`${where}: no memory limit`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('gives the application containers uid 1000 and a writable /tmp', () => {
    for (const { object, spec } of workloads(objects())) {
      if (!['gateway', 'users', 'orders', 'users-migrations', 'orders-migrations', 'test'].includes(component(object)))
        continue;
      expect(spec.securityContext.runAsUser).toBe(1000);
      const tmp = spec.volumes.find((volume: any) => volume.emptyDir && volume.name === 'tmp');
      expect(tmp).toBeDefined();
      for (const container of spec.containers) {
        expect(container.volumeMounts).toContainEqual({ name: 'tmp', mountPath: '/tmp' });
      }
    }
  });

  it('gives every Deployment and StatefulSet startup, liveness and readiness probes and resources', () => {
    for (const object of [...ofKind(objects(), 'Deployment'), ...ofKind(objects(), 'StatefulSet')]) {
      for (const container of object.spec.template.spec.containers) {
        const where = `${id(object)} ${container.name}`;
        expect({ where, startup: !!container.startupProbe }).toEqual({ where, startup: true });
        expect({ where, liveness: !!container.livenessProbe }).toEqual({ where, liveness: true });
        expect({ where, readiness: !!container.readinessProbe }).toEqual({ where, readiness: true });
        expect(container.resources.requests).toEqual(expect.objectContaining({ cpu: expect.anything() }));
        expect(container.resources.limits).toEqual(expect.objectContaining({ memory: expect.anything() }));
      }
    }
  });

  it('probes the services on their real endpoints and ports', () => {
    const expected: Record<string, { port: number; portName: string; variable: string }> = {
      gateway: { port: 8080, portName: 'http', variable: 'PORT' },
      users: { port: 9101, portName: 'ops', variable: 'OPS_PORT' },
      orders: { port: 9102, portName: 'ops', variable: 'OPS_PORT' },
    };
    for (const [service, { port, portName, variable }] of Object.entries(expected)) {
      const deployment = named(objects(), 'Deployment', `${RELEASE}-warren-${service}`);
      const container = deployment.spec.template.spec.containers[0];
      expect(container.ports).toEqual([{ name: portName, containerPort: port, protocol: 'TCP' }]);
      expect(container.startupProbe.httpGet).toEqual({ path: '/healthz', port: portName });
      expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: portName });
      expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: portName });
      const config = named(objects(), 'ConfigMap', `${RELEASE}-warren-${service}`);
      expect(config.data[variable]).toBe(String(port));
      expect(config.data.OTEL_SERVICE_NAME).toBe(service);
      expect(container.envFrom).toEqual([{ configMapRef: { name: config.metadata.name } }]);
      if (service !== 'gateway') expect(config.data.MIGRATE_ON_START).toBe('false');
    }
  });

  it('annotates every Deployment pod template with checksum/config and checksum/secret', () => {
    for (const deployment of ofKind(objects(), 'Deployment')) {
      const annotations = deployment.spec.template.metadata.annotations;
      expect(annotations['checksum/config']).toMatch(/^[a-f0-9]{64}$/);
      expect(annotations['checksum/secret']).toMatch(/^[a-f0-9]{64}$/);
    }
  });

  it('lets a rolling update finish its drain: grace period > preStop sleep + SHUTDOWN_TIMEOUT_MS', () => {
    for (const deployment of ofKind(objects(), 'Deployment')) {
      const spec = deployment.spec.template.spec;
      const config = named(objects(), 'ConfigMap', deployment.metadata.name);
      const shutdownSeconds = Number(config.data.SHUTDOWN_TIMEOUT_MS) / 1000;
      const preStop = spec.containers[0].lifecycle?.preStop?.sleep?.seconds ?? 0;
      expect(spec.terminationGracePeriodSeconds).toBeGreaterThan(preStop + shutdownSeconds);
      expect(deployment.spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
    }
    const gateway = named(objects(), 'Deployment', `${RELEASE}-warren-gateway`);
    expect(gateway.spec.template.spec.containers[0].lifecycle.preStop.sleep.seconds).toBeGreaterThan(0);
  });

  it('defines every $(VAR) an environment variable uses before it, and takes credentials from Secrets', () => {
    const problems: string[] = [];
    for (const { object, spec } of workloads(objects())) {
      for (const container of containersOf(spec)) {
        const defined = new Set<string>();
        for (const variable of container.env ?? []) {
          for (const [, reference] of String(variable.value ?? '').matchAll(/\$\(([A-Z0-9_]+)\)/g)) {
            if (!defined.has(reference!))
              problems.push(`${id(object)} ${container.name}: ${variable.name} → ${reference}`);
          }
          if (/PASSWORD|PASS$|AUTH$/.test(variable.name) && !variable.valueFrom?.secretKeyRef) {
            problems.push(`${id(object)} ${container.name}: ${variable.name} is not from a Secret`);
          }
          defined.add(variable.name);
        }
        for (const argument of container.args ?? []) {
          for (const [, reference] of String(argument).matchAll(/\$\(([A-Z0-9_]+)\)/g)) {
            if (!defined.has(reference!)) problems.push(`${id(object)} ${container.name}: argument → ${reference}`);
          }
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('builds the connection URLs from secret references and names the pod in OTEL_RESOURCE_ATTRIBUTES', () => {
    for (const service of ['gateway', 'users', 'orders']) {
      const container = named(objects(), 'Deployment', `${RELEASE}-warren-${service}`).spec.template.spec.containers[0];
      expect(envValue(container, 'AMQP_URL').value).toMatch(/^amqps?:\/\/\$\(AMQP_USERNAME\):\$\(AMQP_PASSWORD\)@/);
      if (service === 'gateway') expect(envValue(container, 'REDIS_URL').value).toMatch(/^rediss?:\/\//);
      else expect(envValue(container, 'DATABASE_URL').value).toMatch(/^postgres:\/\/\$\(DB_USER\):\$\(DB_PASSWORD\)@/);
      const attributes = envValue(container, 'OTEL_RESOURCE_ATTRIBUTES').value;
      expect(attributes).toContain('k8s.pod.name=$(POD_NAME)');
      expect(attributes).toContain('k8s.namespace.name=$(POD_NAMESPACE)');
      expect(attributes).toMatch(/deployment\.environment=\w+/);
      expect(envValue(container, 'POD_NAME').valueFrom.fieldRef.fieldPath).toBe('metadata.name');
    }
  });

  it('references only Secrets the chart renders or the values name as existing', () => {
    const secrets = new Set(ofKind(objects(), 'Secret').map((secret) => secret.metadata.name));
    const existing = new Set(['warren-broker', 'warren-databases', 'warren-cache']);
    for (const { object, spec } of workloads(objects())) {
      for (const container of containersOf(spec)) {
        for (const variable of container.env ?? []) {
          const reference = variable.valueFrom?.secretKeyRef;
          if (!reference) continue;
          expect(
            `${id(object)} → ${reference.name}: ${secrets.has(reference.name) || existing.has(reference.name)}`,
          ).toBe(`${id(object)} → ${reference.name}: true`);
          const secret = named(objects(), 'Secret', reference.name);
          if (secret) expect(Object.keys(secret.data)).toContain(reference.key);
        }
      }
    }
  });

  it('keeps every credential out of ConfigMaps and every other non-Secret object', () => {
    const secretValues = ofKind(objects(), 'Secret').flatMap((secret) =>
      Object.values<string>(secret.data ?? {}).map((value) => Buffer.from(value, 'base64').toString('utf8')),
    );
    const passwords = secretValues.filter((value) => !value.includes('://'));
    expect(passwords.every((password) => password.length >= 16)).toBe(true);
    for (const object of objects().filter((o) => o.kind !== 'Secret')) {
      const text = JSON.stringify(object);
      for (const value of secretValues)
        expect(text.includes(value) ? `${id(object)} holds a secret` : 'clean').toBe('clean');
    }
  });

  it('has a default-deny NetworkPolicy and one per component', () => {
    const policies = ofKind(objects(), 'NetworkPolicy');
    const deny = policies.find((policy) => policy.metadata.name.endsWith('-default-deny'));
    expect(deny.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(deny.spec.ingress).toBeUndefined();
    expect(deny.spec.egress).toBeUndefined();
    const byComponent = new Map(policies.map((policy) => [component(policy), policy]));
    for (const { object } of workloads(objects())) {
      const selected = policies.some((policy) => selects(policy, object.spec.template?.metadata ?? object.metadata));
      expect(`${id(object)} selected: ${selected}`).toBe(`${id(object)} selected: true`);
    }
    // Workers: only their ops port is open, and only to Prometheus.
    for (const worker of ['users', 'orders']) {
      const policy = byComponent.get(worker);
      expect(policy.spec.ingress).toHaveLength(1);
      expect(policy.spec.ingress[0].ports).toEqual([{ port: 'ops', protocol: 'TCP' }]);
      expect(policy.spec.ingress[0].from.length).toBeGreaterThan(0);
    }
    // The gateway reaches the broker and Redis but not PostgreSQL.
    const gatewayPorts = byComponent
      .get('gateway')
      .spec.egress.flatMap((rule: any) => rule.ports.map((port: any) => port.port));
    expect(gatewayPorts).not.toContain(5432);
  });

  it('runs the migrations as hooks with node dist/migrate.js in each worker image', () => {
    const jobs = ofKind(objects(), 'Job');
    expect(jobs.map((job) => component(job)).sort()).toEqual(['orders-migrations', 'users-migrations']);
    for (const job of jobs) {
      const annotations = job.metadata.annotations;
      expect(annotations['helm.sh/hook']).toMatch(/^(pre|post)-install,pre-upgrade$/);
      expect(annotations['helm.sh/hook-delete-policy']).toBe('before-hook-creation,hook-succeeded');
      expect(annotations['helm.sh/hook-weight']).toBeDefined();
      const container = job.spec.template.spec.containers[0];
      expect(container.command).toEqual(['node', 'dist/migrate.js']);
      const worker = component(job).replace('-migrations', '');
      expect(container.image).toBe(
        named(objects(), 'Deployment', `${RELEASE}-warren-${worker}`).spec.template.spec.containers[0].image,
      );
      expect(envValue(container, 'DATABASE_URL')).toBeDefined();
      expect(job.spec.template.spec.serviceAccountName).toBeUndefined(); // exists before any release object
    }
  });

  it('has a helm test Pod that creates a user through the gateway and reads it back', () => {
    const [pod] = ofKind(objects(), 'Pod');
    expect(pod.metadata.annotations['helm.sh/hook']).toBe('test');
    const script = pod.spec.containers[0].command.join(' ');
    expect(script).toContain("method: 'POST'");
    expect(script).toContain('/v1/users');
    expect(script).toContain('/v1/users/${user.id}');
  });

  it('gives each Service a selector matching its pods and target ports the pods declare', () => {
    const pods = workloads(objects()).filter(({ object }) => object.kind !== 'Job' && object.kind !== 'Pod');
    for (const service of ofKind(objects(), 'Service')) {
      const targets = pods.filter(({ object }) =>
        Object.entries(service.spec.selector).every(
          ([key, value]) => object.spec.template.metadata.labels[key] === value,
        ),
      );
      expect(`${id(service)}: ${targets.length}`).toBe(`${id(service)}: 1`);
      const ports = targets[0]!.spec.containers.flatMap((container: any) => container.ports.map((p: any) => p.name));
      for (const port of service.spec.ports) expect(ports).toContain(port.targetPort);
    }
  });
});

function component(object: any): string {
  return object.metadata.labels['app.kubernetes.io/component'];
}

function selects(policy: any, metadata: any): boolean {
  const labels = metadata.labels ?? {};
  const { matchLabels = {}, matchExpressions = [] } = policy.spec.podSelector;
  return (
    Object.entries(matchLabels).every(([key, value]) => labels[key] === value) &&
    matchExpressions.every(
      (expression: any) => expression.operator === 'In' && expression.values.includes(labels[expression.key]),
    )
  );
}

describe('default values', () => {
  const objects = () => rendered('default');

  it('runs RabbitMQ, PostgreSQL and Redis in the release, each a StatefulSet behind a headless Service', () => {
    const sets = ofKind(objects(), 'StatefulSet');
    expect(sets.map((set) => component(set)).sort()).toEqual(['postgresql', 'rabbitmq', 'redis']);
    for (const set of sets) {
      const headless = named(objects(), 'Service', set.spec.serviceName);
      expect(headless.spec.clusterIP).toBe('None');
    }
    // The exact images docker-compose.yml runs: one pin for both, and the stand-ins of scripts/images.sh cover both.
    const images = sets.map((set) => set.spec.template.spec.containers[0].image).sort();
    const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as {
      services: Record<string, { image?: string }>;
    };
    expect(images).toEqual(['postgres', 'rabbitmq', 'redis'].map((name) => compose.services[name]?.image));
    expect(named(objects(), 'StatefulSet', `${RELEASE}-warren-rabbitmq`).spec.volumeClaimTemplates).toHaveLength(1);
    expect(named(objects(), 'StatefulSet', `${RELEASE}-warren-postgresql`).spec.volumeClaimTemplates).toHaveLength(1);
  });

  it('enables the management and prometheus plugins by configuration and creates both databases', () => {
    const rabbit = named(objects(), 'ConfigMap', `${RELEASE}-warren-rabbitmq`);
    expect(rabbit.data.enabled_plugins).toContain('rabbitmq_management');
    expect(rabbit.data.enabled_plugins).toContain('rabbitmq_prometheus');
    const init = named(objects(), 'ConfigMap', `${RELEASE}-warren-postgresql-init`);
    const script = Object.values<string>(init.data).join('\n');
    for (const word of ['warren_users', 'warren_orders', 'CREATE DATABASE', 'CREATE ROLE', '$USERS_DB_PASSWORD']) {
      expect(script).toContain(word);
    }
  });

  it('generates every password (no default one) into one Secret kept on uninstall', () => {
    const [secret] = ofKind(objects(), 'Secret');
    expect(secret.metadata.annotations['helm.sh/resource-policy']).toBe('keep');
    const keys = Object.keys(secret.data).sort();
    expect(keys).toEqual(
      [
        'amqp-url',
        'orders-db-password',
        'postgres-password',
        'rabbitmq-password',
        'rabbitmq-password-gateway',
        'rabbitmq-password-orders',
        'rabbitmq-password-users',
        'redis-password',
        'users-db-password',
      ].sort(),
    );
    const values = keys.map((key) => Buffer.from(secret.data[key], 'base64').toString('utf8'));
    expect(new Set(values).size).toBe(values.length);
    expect(values.join(' ')).not.toMatch(/\bwarren\b:warren|password|changeme/i);
    // Rendered twice without a cluster, nothing is fixed: the passwords differ.
    const again = ofKind(render('default'), 'Secret')[0];
    expect(again.data['rabbitmq-password']).not.toBe(secret.data['rabbitmq-password']);
  });

  it('runs the migrations after install (the database is in the release) and before upgrades', () => {
    for (const job of ofKind(objects(), 'Job')) {
      expect(job.metadata.annotations['helm.sh/hook']).toBe('post-install,pre-upgrade');
      const wait = job.spec.template.spec.initContainers[0];
      expect(envValue(wait, 'DB_HOST').value).toBe(`${RELEASE}-warren-postgresql`);
    }
  });

  it('scales each service with a CPU HorizontalPodAutoscaler and protects it with a PodDisruptionBudget', () => {
    const hpas = ofKind(objects(), 'HorizontalPodAutoscaler');
    expect(hpas.map((hpa) => hpa.spec.scaleTargetRef.name).sort()).toEqual(
      ['gateway', 'orders', 'users'].map((service) => `${RELEASE}-warren-${service}`),
    );
    for (const hpa of hpas) expect(hpa.spec.metrics[0].resource.name).toBe('cpu');
    for (const deployment of ofKind(objects(), 'Deployment')) expect(deployment.spec.replicas).toBeUndefined();
    expect(ofKind(objects(), 'PodDisruptionBudget')).toHaveLength(3);
    for (const deployment of ofKind(objects(), 'Deployment')) {
      expect(deployment.spec.template.spec.topologySpreadConstraints.length).toBeGreaterThan(0);
    }
  });

  it('ships one Grafana dashboard ConfigMap per files/dashboards/*.json, labelled for the sidecar', () => {
    const files = readdirSync(join(CHART, 'files/dashboards')).filter((name) => name.endsWith('.json'));
    const maps = ofKind(objects(), 'ConfigMap').filter((map) => map.metadata.labels.grafana_dashboard === '1');
    expect(maps.flatMap((map) => Object.keys(map.data)).sort()).toEqual(files.sort());
    for (const map of maps) {
      const [file, json] = Object.entries<string>(map.data)[0]!;
      expect(JSON.parse(json)).toEqual(JSON.parse(readFileSync(join(CHART, 'files/dashboards', file), 'utf8')));
    }
  });

  it('changes checksum/config when a setting changes and checksum/secret when a password does', () => {
    const fixedServiceUsers = ['gateway', 'users', 'orders'].flatMap((service) => [
      '--set',
      `rabbitmq.auth.servicePasswords.${service}=${service}-${'g'.repeat(20)}`,
    ]);
    const fixed = [
      '--set',
      'rabbitmq.auth.password=aaaaaaaaaaaaaaaaaaaa',
      '--set',
      'redis.auth.password=bbbbbbbbbbbbbbbbbbbb',
      ...fixedServiceUsers,
    ];
    const fixedDb = [
      '--set',
      'postgresql.auth.postgresPassword=cccccccccccccccccccc',
      '--set',
      'postgresql.databases.users.password=dddddddddddddddddddd',
      '--set',
      'postgresql.databases.orders.password=eeeeeeeeeeeeeeeeeeee',
    ];
    const annotations = (objects: any[], service: string) =>
      named(objects, 'Deployment', `${RELEASE}-warren-${service}`).spec.template.metadata.annotations;
    const base = render('default', [...fixed, ...fixedDb]);
    const same = render('default', [...fixed, ...fixedDb]);
    expect(annotations(same, 'users')).toEqual(annotations(base, 'users'));
    const verbose = render('default', [...fixed, ...fixedDb, '--set', 'users.config.rpcConcurrency=8']);
    expect(annotations(verbose, 'users')['checksum/config']).not.toBe(annotations(base, 'users')['checksum/config']);
    expect(annotations(verbose, 'gateway')['checksum/config']).toBe(annotations(base, 'gateway')['checksum/config']);
    expect(annotations(verbose, 'users')['checksum/secret']).toBe(annotations(base, 'users')['checksum/secret']);
    const rotated = render('default', [
      ...fixedDb,
      '--set',
      'rabbitmq.auth.password=ffffffffffffffffffff',
      '--set',
      'redis.auth.password=bbbbbbbbbbbbbbbbbbbb',
      ...fixedServiceUsers,
    ]);
    expect(annotations(rotated, 'users')['checksum/secret']).not.toBe(annotations(base, 'users')['checksum/secret']);
    // An explicit password is still only in the Secret.
    for (const object of base.filter((o) => o.kind !== 'Secret'))
      expect(JSON.stringify(object)).not.toContain('aaaaaaaaaaaaaaaa');
  });
});

describe('broker users (rabbitmq.auth.perServiceUsers)', () => {
  const objects = () => rendered('default');
  const services = ['gateway', 'users', 'orders'] as const;
  const container = (service: string) =>
    named(objects(), 'Deployment', `${RELEASE}-warren-${service}`).spec.template.spec.containers[0];
  const broker = () => named(objects(), 'StatefulSet', `${RELEASE}-warren-rabbitmq`).spec.template.spec;
  const spec = () =>
    JSON.parse(envValue(broker().initContainers[0], 'BROKER_DEFINITIONS').value) as {
      vhost: string;
      users: { name: string; passwordVariable: string; permissions: Record<'configure' | 'write' | 'read', string> }[];
      policies: unknown[];
    };
  const permissionsOf = (service: string) =>
    spec().users.find((user) => user.name === `warren-${service}`)!.permissions;
  const allows = (pattern: string, resource: string) => new RegExp(pattern).test(resource);
  const routeQueuesOf = (service: string) =>
    Object.values(contracts as Record<string, any>)
      .filter((value) => typeof value?.name === 'string' && value.request && value.name.startsWith(`${service}.`))
      .map((route) => queueNameOf(route.name as string));

  it('connects each service as its own user, with its own password key', () => {
    for (const service of services) {
      expect(envValue(container(service), 'AMQP_USERNAME').value).toBe(`warren-${service}`);
      expect(envValue(container(service), 'AMQP_PASSWORD').valueFrom.secretKeyRef.key).toBe(
        `rabbitmq-password-${service}`,
      );
    }
  });

  it('has the in-chart broker import its users at boot, from definitions an init container writes', () => {
    const conf = named(objects(), 'ConfigMap', `${RELEASE}-warren-rabbitmq`).data;
    expect(conf['rabbitmq.conf']).toContain('load_definitions = /etc/rabbitmq/definitions/definitions.json');
    expect(conf['definitions.mjs']).toBe(readFileSync(join(CHART, 'files/rabbitmq/definitions.mjs'), 'utf8'));
    const [init] = broker().initContainers;
    expect(init.command).toEqual(['node', '/opt/warren/definitions.mjs', '/etc/rabbitmq/definitions/definitions.json']);
    expect(spec().vhost).toBe('/');
    expect(spec().users.map((user) => user.name)).toEqual(['warren', ...services.map((name) => `warren-${name}`)]);
    // Every password from the Secret, never in the spec.
    for (const user of spec().users) {
      expect(envValue(init, user.passwordVariable).valueFrom.secretKeyRef.name).toBe(`${RELEASE}-warren-credentials`);
    }
    const mounted = broker().containers[0].volumeMounts.find((mount: any) => mount.name === 'definitions');
    expect(mounted).toMatchObject({ mountPath: '/etc/rabbitmq/definitions', readOnly: true });
  });

  it("grants each worker its routes' queues and dead-letter queues, and nobody another's (from @warren/contracts)", () => {
    for (const worker of ['users', 'orders']) {
      const own = permissionsOf(worker);
      const others = services.filter((service) => service !== worker);
      expect(routeQueuesOf(worker).length).toBeGreaterThan(0);
      for (const queue of routeQueuesOf(worker)) {
        for (const resource of [queue, deadLetterQueueOf(queue)]) {
          expect(allows(own.configure, resource) && allows(own.read, resource)).toBe(true);
          for (const other of others) {
            expect([permissionsOf(other).configure, permissionsOf(other).read].some((p) => allows(p, resource))).toBe(
              false,
            );
          }
        }
      }
      expect(allows(own.configure, DEFAULT_DEAD_LETTER_EXCHANGE) && allows(own.write, 'amq.default')).toBe(true);
    }
    // The callers read their replies on direct reply-to; the gateway declares nothing.
    for (const caller of ['gateway', 'orders'])
      expect(allows(permissionsOf(caller).read, DIRECT_REPLY_QUEUE)).toBe(true);
    expect(permissionsOf('gateway')).toEqual({
      configure: '^$',
      write: '^amq\\.default$',
      read: '^amq\\.rabbitmq\\.reply-to$',
    });
  });

  it('restarts the broker when a permission changes, so it imports the new definitions', () => {
    const checksum = (objects: any[]) =>
      named(objects, 'StatefulSet', `${RELEASE}-warren-rabbitmq`).spec.template.metadata.annotations['checksum/config'];
    const fixed = ['--set', 'rabbitmq.auth.password=aaaaaaaaaaaaaaaaaaaa'];
    const changed = render('default', [...fixed, '--set', 'users.brokerPermissions.read=^users\\..+$']);
    expect(checksum(changed)).not.toBe(checksum(render('default', fixed)));
  });

  it('imports the route queue policy of @warren/rpc, and restarts the broker when its delivery limit changes', () => {
    expect(spec().policies).toEqual([routeQueuePolicy()]);
    const checksum = (objects: any[]) =>
      named(objects, 'StatefulSet', `${RELEASE}-warren-rabbitmq`).spec.template.metadata.annotations['checksum/config'];
    const fixed = ['--set', 'rabbitmq.auth.password=aaaaaaaaaaaaaaaaaaaa'];
    const changed = render('default', [...fixed, '--set', 'rabbitmq.queuePolicy.deliveryLimit=9']);
    const changedSpec = JSON.parse(
      envValue(
        named(changed, 'StatefulSet', `${RELEASE}-warren-rabbitmq`).spec.template.spec.initContainers[0],
        'BROKER_DEFINITIONS',
      ).value,
    ) as { policies: unknown[] };
    expect(changedSpec.policies).toEqual([routeQueuePolicy({ deliveryLimit: 9 })]);
    expect(checksum(changed)).not.toBe(checksum(render('default', fixed)));
  });

  it('with perServiceUsers false, connects every service as the one user and imports only its administrator', () => {
    const shared = render('default', ['--set', 'rabbitmq.auth.perServiceUsers=false']);
    for (const service of services) {
      const env = named(shared, 'Deployment', `${RELEASE}-warren-${service}`).spec.template.spec.containers[0];
      expect(envValue(env, 'AMQP_USERNAME').value).toBe('warren');
      expect(envValue(env, 'AMQP_PASSWORD').valueFrom.secretKeyRef.key).toBe('rabbitmq-password');
    }
    const sts = named(shared, 'StatefulSet', `${RELEASE}-warren-rabbitmq`).spec.template.spec;
    const sharedSpec = JSON.parse(envValue(sts.initContainers[0], 'BROKER_DEFINITIONS').value) as {
      users: { name: string }[];
      policies: unknown[];
    };
    expect(sharedSpec.users.map((user) => user.name)).toEqual(['warren']);
    expect(sharedSpec.policies).toEqual([routeQueuePolicy()]);
    expect(sts.initContainers[0].env.map((variable: { name: string }) => variable.name)).toEqual([
      'BROKER_DEFINITIONS',
      'RABBITMQ_ADMIN_PASSWORD',
    ]);
    expect(Object.keys(ofKind(shared, 'Secret')[0].data)).not.toContain('rabbitmq-password-gateway');
  });

  it('requires the service passwords with an external broker and no existingSecret', () => {
    const external = [
      '--set',
      'rabbitmq.enabled=false',
      '--set',
      'rabbitmq.external.host=broker.example.internal',
      '--set',
      'rabbitmq.auth.password=aaaaaaaaaaaaaaaaaaaa',
    ];
    const missing = helmTemplate(external);
    expect(missing.status).not.toBe(0);
    expect(missing.errors).toContain('rabbitmq.auth.servicePasswords.gateway or rabbitmq.auth.existingSecret');
    const given = helmTemplate([
      ...external,
      ...services.flatMap((service) => ['--set', `rabbitmq.auth.servicePasswords.${service}=${service}-password-1`]),
    ]);
    expect(given.errors).toBe('');
    expect(ofKind(given.objects, 'StatefulSet').map((set: any) => component(set))).not.toContain('rabbitmq');
  });
});

describe('external services (ci/external-services.yaml)', () => {
  const objects = () => rendered('external-services.yaml');

  it('renders no StatefulSet, no PersistentVolumeClaim and no chart Secret', () => {
    expect(ofKind(objects(), 'StatefulSet')).toEqual([]);
    expect(ofKind(objects(), 'PersistentVolumeClaim')).toEqual([]);
    expect(ofKind(objects(), 'Secret')).toEqual([]);
    expect(objects().some((object) => ['rabbitmq', 'postgresql', 'redis'].includes(component(object)))).toBe(false);
  });

  it('connects to the external hosts with TLS and the existing Secrets', () => {
    const gateway = named(objects(), 'Deployment', `${RELEASE}-warren-gateway`).spec.template.spec.containers[0];
    expect(envValue(gateway, 'AMQP_URL').value).toBe(
      'amqps://$(AMQP_USERNAME):$(AMQP_PASSWORD)@broker.example.internal:5671/warren',
    );
    expect(envValue(gateway, 'AMQP_USERNAME').value).toBe('warren-gateway');
    expect(envValue(gateway, 'AMQP_PASSWORD').valueFrom.secretKeyRef).toEqual({
      name: 'warren-broker',
      key: 'rabbitmq-password-gateway',
    });
    expect(envValue(gateway, 'REDIS_URL').value).toBe(
      'rediss://$(REDIS_USERNAME):$(REDIS_PASSWORD)@redis.example.internal:6380/0',
    );
    const users = named(objects(), 'Deployment', `${RELEASE}-warren-users`).spec.template.spec.containers[0];
    expect(envValue(users, 'DB_HOST').value).toBe('postgres.example.internal');
    expect(envValue(users, 'DATABASE_URL').value).toBe(
      'postgres://$(DB_USER):$(DB_PASSWORD)@$(DB_HOST):$(DB_PORT)/warren_users?sslmode=require',
    );
  });

  it('migrates before install: nothing the Jobs need is created by the release', () => {
    for (const job of ofKind(objects(), 'Job')) {
      expect(job.metadata.annotations['helm.sh/hook']).toBe('pre-install,pre-upgrade');
    }
  });

  it('limits egress to the managed services to their address range', () => {
    const users = ofKind(objects(), 'NetworkPolicy').find((policy) => component(policy) === 'users');
    const database = users.spec.egress.find((rule: any) => rule.ports[0].port === 5432);
    expect(database.to).toEqual([{ ipBlock: { cidr: '10.20.0.0/16' } }]);
  });
});

describe('KEDA and monitoring (ci/keda-monitoring.yaml)', () => {
  const objects = () => rendered('keda-monitoring.yaml');
  const routesOf = (service: string) =>
    Object.values(contracts as Record<string, any>)
      .filter((value) => typeof value?.name === 'string' && value.request && value.name.startsWith(`${service}.`))
      .map((route) => route.name as string)
      .sort();

  it('scales each worker on the length of every one of its route queues, and leaves it no HPA', () => {
    for (const worker of ['users', 'orders']) {
      const scaled = named(objects(), 'ScaledObject', `${RELEASE}-warren-${worker}`);
      expect(scaled.spec.scaleTargetRef.name).toBe(`${RELEASE}-warren-${worker}`);
      const queues = scaled.spec.triggers
        .filter((trigger: any) => trigger.type === 'rabbitmq')
        .map((trigger: any) => trigger.metadata.queueName)
        .sort();
      expect(queues).toEqual(routesOf(worker));
      expect(queues.length).toBeGreaterThan(0);
    }
    const hpaTargets = ofKind(objects(), 'HorizontalPodAutoscaler').map((hpa) => hpa.spec.scaleTargetRef.name);
    expect(hpaTargets).toEqual([`${RELEASE}-warren-gateway`]);
    const auth = ofKind(objects(), 'TriggerAuthentication')[0];
    const secret = named(objects(), 'Secret', auth.spec.secretTargetRef[0].name);
    expect(Object.keys(secret.data)).toContain(auth.spec.secretTargetRef[0].key);
  });

  it('scrapes every service under the job names the rules and dashboards use', () => {
    const jobs = ofKind(objects(), 'ServiceMonitor')
      .map((monitor) => monitor.spec.endpoints[0].relabelings.find((r: any) => r.targetLabel === 'job').replacement)
      .sort();
    expect(jobs).toEqual(['warren-gateway', 'warren-orders', 'warren-rabbitmq', 'warren-users']);
    const rules = readFileSync(join(CHART, 'files/prometheus/rules.yaml'), 'utf8');
    for (const job of jobs.filter((name) => name !== 'warren-users' && name !== 'warren-orders')) {
      expect(rules).toContain(job);
    }
  });

  it('loads files/prometheus/rules.yaml into the PrometheusRule unchanged', () => {
    const [rule] = ofKind(objects(), 'PrometheusRule');
    const file = parse(readFileSync(join(CHART, 'files/prometheus/rules.yaml'), 'utf8'));
    expect(rule.spec.groups).toEqual(file.groups);
  });

  it('publishes the gateway through the ingress only, trusting one proxy hop', () => {
    const [ingress] = ofKind(objects(), 'Ingress');
    expect(ingress.spec.rules[0].http.paths[0].backend.service).toEqual({
      name: `${RELEASE}-warren-gateway`,
      port: { name: 'http' },
    });
    expect(named(objects(), 'ConfigMap', `${RELEASE}-warren-gateway`).data.TRUST_PROXY).toBe('1');
    const gateway = ofKind(objects(), 'NetworkPolicy').find((policy) => component(policy) === 'gateway');
    expect(JSON.stringify(gateway.spec.ingress[0].from)).toContain('ingress-nginx');
  });
});

describe('the gateway Service', () => {
  const gatewayPort = (args: string[]) => {
    const service = named(render('default', args), 'Service', `${RELEASE}-warren-gateway`);
    return { type: service.spec.type, nodePort: service.spec.ports[0].nodePort };
  };

  it('takes the nodePort asked for only as a NodePort (or LoadBalancer) Service', () => {
    expect(gatewayPort([])).toEqual({ type: 'ClusterIP', nodePort: undefined });
    expect(gatewayPort(['--set', 'gateway.service.type=NodePort'])).toEqual({ type: 'NodePort', nodePort: undefined });
    const fixed = ['--set', 'gateway.service.type=NodePort', '--set', 'gateway.service.nodePort=30080'];
    expect(gatewayPort(fixed)).toEqual({ type: 'NodePort', nodePort: 30080 });
    expect(gatewayPort(['--set', 'gateway.service.nodePort=30080'])).toEqual({
      type: 'ClusterIP',
      nodePort: undefined,
    });
  });
});

/**
 * The variables a service parses, from its own code: its loadConfig run on an environment that records every name it
 * reads (zod reads each variable of the schema, set or not). Nothing to keep in step by hand: a variable added to a
 * service's config.ts (or to the workers' shared schema) is in here at once.
 */
function variablesParsedBy(loadConfig: (environment: Record<string, string | undefined>) => unknown): string[] {
  const read = new Set<string>();
  const record = (name: string | symbol) => {
    if (typeof name === 'string' && /^[A-Z][A-Z0-9_]*$/.test(name)) read.add(name);
  };
  const environment = new Proxy({} as Record<string, string | undefined>, {
    get: (_target, name) => (record(name), undefined),
    has: (_target, name) => (record(name), false),
  });
  try {
    loadConfig(environment);
  } catch {
    // A variable without a default fails the parse: it has been read all the same.
  }
  return [...read].sort();
}

/** What packages/telemetry reads itself (get*FromEnv('X'), process.env.X): the OTEL_* variables beyond the SDK's. */
function variablesReadByTelemetry(): string[] {
  const directory = join(ROOT, 'packages/telemetry/src');
  const names = new Set<string>();
  for (const file of readdirSync(directory).filter((name) => name.endsWith('.ts') && !name.endsWith('.test.ts'))) {
    const source = readFileSync(join(directory, file), 'utf8');
    for (const [, name] of source.matchAll(
      /\b(?:get\w*FromEnv\(\s*|process\.env\.|process\.env\[\s*)['"]?([A-Z][A-Z0-9_]*)/g,
    ))
      names.add(name!);
  }
  return [...names].sort();
}

describe("the services' environment", () => {
  const telemetry = variablesReadByTelemetry();
  const parsed: Record<string, string[]> = {
    gateway: [...new Set([...variablesParsedBy(loadGatewayConfig), ...telemetry])].sort(),
    users: [...new Set([...variablesParsedBy(loadUsersConfig), ...telemetry])].sort(),
    orders: [...new Set([...variablesParsedBy(loadOrdersConfig), ...telemetry])].sort(),
  };
  /**
   * Variables a service parses that the chart deliberately leaves to the service's default, with the reason. Keep it
   * empty: a variable here has no values path.
   */
  const leftToTheirDefault: Record<string, Record<string, string>> = { gateway: {}, users: {}, orders: {} };
  const values = parse(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as Record<string, any>;

  /** Every variable a container gets: its env, and the keys of the ConfigMaps and Secrets of its envFrom. */
  function environmentOf(objects: any[], service: string): Map<string, string | undefined> {
    const container = named(objects, 'Deployment', `${RELEASE}-warren-${service}`).spec.template.spec.containers[0];
    const variables = new Map<string, string | undefined>();
    for (const source of container.envFrom ?? []) {
      const from = source.configMapRef
        ? named(objects, 'ConfigMap', source.configMapRef.name)?.data
        : named(objects, 'Secret', source.secretRef?.name)?.data;
      for (const [name, value] of Object.entries<string>(from ?? {}))
        variables.set(`${source.prefix ?? ''}${name}`, value);
    }
    for (const variable of container.env ?? []) variables.set(variable.name, variable.value);
    return variables;
  }

  it('finds the variables in the services’ code', () => {
    for (const service of ['gateway', 'users', 'orders']) {
      expect(parsed[service]!.length).toBeGreaterThan(10);
      expect(parsed[service]).toEqual(expect.arrayContaining(['AMQP_URL', 'LOG_LEVEL', 'OTEL_SDK_DISABLED']));
    }
    expect(parsed.gateway).toEqual(expect.arrayContaining(['MAX_IN_FLIGHT_RPC', 'REDIS_URL', 'PORT']));
    expect(parsed.orders).toEqual(expect.arrayContaining(['DATABASE_URL', 'OPS_PORT', 'RPC_TIMEOUT_MS']));
  });

  it.each(RENDERS)('sets every variable a service parses (rendered with %s values)', (name) => {
    const missing: string[] = [];
    for (const [service, variables] of Object.entries(parsed)) {
      const environment = environmentOf(rendered(name), service);
      for (const variable of variables)
        if (!environment.has(variable) && !(variable in leftToTheirDefault[service]!))
          missing.push(`${service}: ${variable} has no values path`);
    }
    expect(missing).toEqual([]);
  });

  it('keeps the list of variables left to their default tiny, and each one a variable still parsed', () => {
    for (const [service, variables] of Object.entries(leftToTheirDefault)) {
      expect(Object.keys(variables).length).toBeLessThanOrEqual(2);
      for (const [variable, reason] of Object.entries(variables)) {
        expect(parsed[service]).toContain(variable);
        expect(reason.length).toBeGreaterThan(10);
      }
    }
  });

  it('renders each <service>.config key as the variable of its name, one the service parses, with its value', () => {
    const environment = (service: string) => environmentOf(rendered('default'), service);
    for (const service of ['gateway', 'users', 'orders']) {
      const entry = values[service];
      const variables = environment(service);
      const port = entry.containerPort;
      expect(parsed[service]).toContain(port.env);
      expect(variables.get(port.env)).toBe(String(entry[port.valueKey]));
      for (const [key, value] of Object.entries<unknown>(entry.config)) {
        const variable = key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
        expect(`${service}.config.${key} → ${variable}: ${parsed[service]!.includes(variable)}`).toBe(
          `${service}.config.${key} → ${variable}: true`,
        );
        if (value !== '')
          expect([`${service}.config.${key}`, variables.get(variable)]).toEqual([
            `${service}.config.${key}`,
            String(value),
          ]);
      }
    }
  });

  it('takes MAX_IN_FLIGHT_RPC, HOST, LOG_PRETTY and other OTEL_* variables from values', () => {
    const objects = render('default', [
      '--set',
      'gateway.config.maxInFlightRpc=64',
      '--set',
      'host=::',
      '--set',
      'logPretty=true',
      '--set',
      'otel.settings.OTEL_PROPAGATORS=tracecontext',
    ]);
    const gateway = environmentOf(objects, 'gateway');
    expect(gateway.get('MAX_IN_FLIGHT_RPC')).toBe('64');
    for (const service of ['gateway', 'users', 'orders']) {
      const environment = environmentOf(objects, service);
      expect([service, environment.get('HOST'), environment.get('LOG_PRETTY')]).toEqual([service, '::', 'true']);
      expect([service, environment.get('OTEL_PROPAGATORS')]).toEqual([service, 'tracecontext']);
    }
  });
});

describe('helm install in the GitHub workflows', () => {
  /** Each `helm install|upgrade` of a workflow's run steps, continuation lines joined, as its arguments. */
  const installs = readdirSync(join(ROOT, '.github/workflows'))
    .filter((name) => name.endsWith('.yml'))
    .flatMap((name) => {
      const workflow = parse(readFileSync(join(ROOT, '.github/workflows', name), 'utf8'));
      const runs = Object.values<any>(workflow.jobs).flatMap((job) => (job.steps ?? []).map((step: any) => step.run));
      return runs
        .filter((run): run is string => typeof run === 'string')
        .flatMap((run) => run.replace(/\\\n/g, ' ').split('\n'))
        .filter((line) => /\bhelm (install|upgrade)\b/.test(line))
        .map((line) => ({ name, args: line.trim().split(/\s+/) }));
    });

  it('has some, and each renders: what the workflow sets is a choice the chart accepts', () => {
    expect(installs.length).toBeGreaterThan(0);
    for (const { name, args } of installs) {
      const sets = args.flatMap((arg, index) => (args[index - 1] === '--set' ? ['--set', arg] : []));
      const result = helmTemplateExactly(sets);
      expect({ name, errors: result.errors, status: result.status }).toEqual({ name, errors: '', status: 0 });
    }
  });
});

describe('values.schema.json', () => {
  it.each([
    [['--set', 'gateway.replicaCount=two'], "at '/gateway/replicaCount': got string, want integer"],
    [['--set', 'postgresql.enabled=false'], "at '/postgresql/external/host'"],
    [['--set', 'logLevel=loud'], "at '/logLevel'"],
    [['--set', 'gateway.unknownSetting=1'], 'additional properties'],
    [['--set', 'gateway.service.nodePort=8080'], "at '/gateway/service/nodePort'"],
    [['--set', 'gateway.config.maxInFlightRpc=0'], "at '/gateway/config/maxInFlightRpc'"],
    [['--set', 'otel.settings.OTEL_SERVICE_NAME=gateway'], "invalid propertyName 'OTEL_SERVICE_NAME'"],
    [['--set', 'users.connectsTo={rabbitmq,kafka}'], "at '/users/connectsTo/1'"],
  ])('rejects %j with a message naming the value', (args, message) => {
    const result = helmTemplate(args);
    expect(result.status).not.toBe(0);
    expect(result.errors).toContain("values don't meet the specifications of the schema");
    expect(result.errors).toContain(message);
  });

  it('refuses an external database without credentials, and a grace period shorter than the drain', () => {
    const external = helmTemplate(['--set', 'postgresql.enabled=false', '--set', 'postgresql.external.host=db']);
    expect(external.status).not.toBe(0);
    expect(external.errors).toContain(
      'postgresql.databases.users.password or postgresql.auth.existingSecret is required',
    );
    const short = helmTemplate(['--set', 'gateway.terminationGracePeriodSeconds=20']);
    expect(short.status).not.toBe(0);
    expect(short.errors).toContain('gateway.terminationGracePeriodSeconds (20) must exceed');
  });

  it('renders only once authentication is chosen: an issuer, or authDisabled said explicitly, never both', () => {
    const neither = helmTemplateExactly([]);
    expect(neither.status).not.toBe(0);
    expect(neither.errors).toContain('gateway.config.authIssuer is required');
    expect(neither.errors).toContain('gateway.config.authDisabled=true');
    const both = helmTemplateExactly([...ISSUER, '--set', 'gateway.config.authDisabled=true']);
    expect(both.errors).toContain('gateway.config.authDisabled is true, yet gateway.config.authIssuer is set');
    const open = helmTemplateExactly(['--set', 'gateway.config.authDisabled=true']);
    expect(open.status).toBe(0);
    const config = named(open.objects, 'ConfigMap', `${RELEASE}-warren-gateway`);
    expect(config.data).toMatchObject({ AUTH_DISABLED: 'true', AUTH_ISSUER: '' });
    const secured = named(rendered('default'), 'ConfigMap', `${RELEASE}-warren-gateway`);
    expect(secured.data).toMatchObject({
      AUTH_DISABLED: 'false',
      AUTH_ISSUER: 'https://login.example.com/realms/warren',
    });
  });

  it('refuses a worker replay window shorter than the gateway keeps Idempotency-Key responses', () => {
    const forgetful = helmTemplate(['--set', 'orders.config.commandReplayWindowSeconds=3600']);
    expect(forgetful.status).not.toBe(0);
    expect(forgetful.errors).toContain(
      'orders.config.commandReplayWindowSeconds (3600) must be at least gateway.config.idempotencyTtlSeconds (86400)',
    );
    const longer = ['--set', 'gateway.config.idempotencyTtlSeconds=259200'];
    expect(helmTemplate(longer).errors).toContain('users.config.commandReplayWindowSeconds (172800) must be at least');
    const both = [...longer, '--set', 'users.config.commandReplayWindowSeconds=259200'];
    expect(helmTemplate([...both, '--set', 'orders.config.commandReplayWindowSeconds=259200']).status).toBe(0);
  });
});

describe('k8s/observability', () => {
  const kustomization = () => parse(readFileSync(join(ROOT, 'k8s/observability/kustomization.yaml'), 'utf8'));

  it('provisions every dashboard of the chart, and the chart rules and Grafana files', () => {
    const generators = new Map<string, string[]>(
      kustomization().configMapGenerator.map((generator: any) => [generator.name, generator.files]),
    );
    const dashboards = readdirSync(join(CHART, 'files/dashboards'))
      .filter((name) => name.endsWith('.json'))
      .map((name) => `../../charts/warren/files/dashboards/${name}`)
      .sort();
    expect([...generators.get('grafana-dashboards')!].sort()).toEqual(dashboards);
    for (const files of generators.values()) {
      for (const file of files) {
        const path = file.includes('=') ? file.split('=')[1]! : file;
        expect(existsSync(join(ROOT, 'k8s/observability', path))).toBe(true);
      }
    }
  });

  it('scrapes the warren pods under the job names the rules use', () => {
    const prometheus = parse(readFileSync(join(ROOT, 'k8s/observability/prometheus/prometheus.yml'), 'utf8'));
    const warren = prometheus.scrape_configs.find((config: any) => config.job_name === 'warren');
    const job = warren.relabel_configs.find((rule: any) => rule.target_label === 'job');
    expect(job.replacement).toBe('warren-$1');
    expect(job.source_labels).toEqual(['__meta_kubernetes_pod_label_app_kubernetes_io_component']);
    // The chart annotates the pods this job keeps, RabbitMQ on its per-object endpoint.
    const rabbit = named(rendered('default'), 'StatefulSet', `${RELEASE}-warren-rabbitmq`);
    expect(rabbit.spec.template.metadata.annotations['prometheus.io/path']).toBe('/metrics/per-object');
  });
});
