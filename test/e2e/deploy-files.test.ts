/**
 * The deployment files agree with each other and with the code: docker-compose.yml's services, ports and mounted
 * files, its Prometheus jobs and the local ones (the rules and dashboards rely on the job names), the workflows'
 * npm scripts, the release's image list and Dependabot's Dockerfile folders. Their schemas and linters are
 * scripts/check-deploy.sh; this is what no schema knows.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { REPOSITORY_ROOT } from '@warren/launcher';
import { finalStage, imageConfig, readDockerfile } from './support/dockerfile';

const SERVICES = readdirSync(join(REPOSITORY_ROOT, 'services')).filter((name) =>
  existsSync(join(REPOSITORY_ROOT, 'services', name, 'Dockerfile')),
);

function yamlFile(path: string): any {
  return parse(readFileSync(join(REPOSITORY_ROOT, path), 'utf8'), { merge: true });
}

function exposedPort(service: string): number | undefined {
  return imageConfig(finalStage(readDockerfile(join(REPOSITORY_ROOT, 'services', service, 'Dockerfile')))).exposed[0];
}

describe('docker-compose.yml', () => {
  const compose = yamlFile('docker-compose.yml');

  it.each(SERVICES)('builds %s from its Dockerfile, publishes and configures the port the image exposes', (name) => {
    const service = compose.services[name];
    expect(service.build).toEqual({ context: '.', dockerfile: `services/${name}/Dockerfile` });
    const port = exposedPort(name);
    expect(service.ports).toEqual([`127.0.0.1:${port}:${port}`]);
    expect(service.environment[name === 'gateway' ? 'PORT' : 'OPS_PORT']).toBe(String(port));
    // The image's own HEALTHCHECK (on /readyz, at the port variable the service reads) is used, not redefined here.
    expect(service.healthcheck).toBeUndefined();
    const healthcheck = finalStage(readDockerfile(join(REPOSITORY_ROOT, 'services', name, 'Dockerfile')))
      .instructions.filter((instruction) => instruction.keyword === 'HEALTHCHECK')
      .map((instruction) => instruction.rest);
    expect(healthcheck).toEqual([
      expect.stringContaining(`process.env.${name === 'gateway' ? 'PORT' : 'OPS_PORT'} || ${port}) + '/readyz'`),
    ]);
    expect(service.read_only).toBe(true);
  });

  it('mounts only files and folders that exist', () => {
    const missing: string[] = [];
    for (const [name, service] of Object.entries<any>(compose.services)) {
      for (const volume of (service.volumes ?? []) as string[]) {
        const [source = ''] = volume.split(':');
        if (source.startsWith('.') && !existsSync(join(REPOSITORY_ROOT, source))) missing.push(`${name}: ${source}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('has Prometheus scrape the same jobs as the local configuration, at the compose services', () => {
    const jobs = (config: any) =>
      Object.fromEntries(
        (config.scrape_configs as any[])
          .filter((job) => job.job_name.startsWith('warren-'))
          .map((job) => [
            job.job_name,
            { path: job.metrics_path ?? '/metrics', targets: job.static_configs[0].targets },
          ]),
      );
    const local = jobs(yamlFile('observability/prometheus/prometheus.local.yml'));
    const composed = jobs(yamlFile('compose/prometheus/prometheus.yml'));
    expect(Object.keys(composed).sort()).toEqual(Object.keys(local).sort());
    for (const [job, { path, targets }] of Object.entries<any>(local)) {
      expect(composed[job].path).toBe(path);
      // 127.0.0.1:<port> locally is <compose service>:<same port>
      const service = job.replace(/^warren-/, '');
      expect(composed[job].targets).toEqual(targets.map((target: string) => target.replace('127.0.0.1', service)));
      expect(compose.services[service]).toBeDefined();
    }
  });
});

describe('GitHub workflows', () => {
  const scripts = Object.keys(
    (JSON.parse(readFileSync(join(REPOSITORY_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> })
      .scripts,
  );
  const workflowsFolder = join(REPOSITORY_ROOT, '.github', 'workflows');
  const workflows = readdirSync(workflowsFolder).map((file) => readFileSync(join(workflowsFolder, file), 'utf8'));

  it('call npm scripts that exist', () => {
    const called = new Set(workflows.flatMap((text) => [...text.matchAll(/npm run ([\w:-]+)/g)].map((m) => m[1])));
    const missing = [...called].filter((name) => name && !scripts.includes(name));
    expect(missing).toEqual([]);
  });

  it('build the images and run the compose stack in CI (test/containers, engine required)', () => {
    const ci = yamlFile('.github/workflows/ci.yml');
    const steps = ci.jobs.images.steps as any[];
    const run = steps.find((step) => step.run === 'npm run test:containers');
    expect(run?.env).toEqual({ WARREN_REQUIRE_CONTAINERS: 'true' });
  });

  it("install the chart in CI on k8s/kind/cluster.yaml's kind, at the Kubernetes minor scripts/cluster.sh builds", () => {
    const ci = yamlFile('.github/workflows/ci.yml');
    const steps = ci.jobs.cluster.steps as any[];
    const kind = steps.find((step) => String(step.uses).startsWith('helm/kind-action@'));
    expect(kind.with.config).toBe('k8s/kind/cluster.yaml');
    const clusterScript = readFileSync(join(REPOSITORY_ROOT, 'scripts/cluster.sh'), 'utf8');
    const minor = (version: string) => /v(\d+\.\d+)\./.exec(version)?.[1];
    const built = minor(/^K8S_VERSION=(v[\d.]+)/m.exec(clusterScript)?.[1] ?? '');
    expect(built).toBeDefined();
    const nodes = yamlFile('k8s/kind/cluster.yaml').nodes as { image: string }[];
    // A kind node image is only guaranteed for its kind release when pinned by digest.
    for (const node of nodes) expect(node.image).toMatch(/^kindest\/node:v[\d.]+@sha256:[0-9a-f]{64}$/);
    expect(new Set(nodes.map((node) => minor(node.image)))).toEqual(new Set([built]));
    expect(minor(kind.with.kubectl_version)).toBe(built);
    const run = steps.find((step) => step.run === 'npm run test:cluster');
    expect(run?.env).toEqual({
      WARREN_CLUSTER: 'kind',
      WARREN_KIND_CLUSTER: kind.with.cluster_name,
      WARREN_REQUIRE_CLUSTER: 'true',
    });
  });

  it('run the k6 scripts with real k6: actions pinned by commit, k6 2.3, smoke on pull requests, summaries kept', () => {
    const workflow = yamlFile('.github/workflows/loadtest.yml');
    expect(workflow.env.K6_VERSION).toMatch(/^2\.3\.\d+$/);
    expect(Object.keys(workflow.on).sort()).toEqual(['pull_request', 'schedule', 'workflow_dispatch']);
    const matrix = String(workflow.jobs.compose.strategy.matrix.profile);
    expect(matrix).toContain(`github.event_name == 'pull_request' && '["smoke"]'`);
    expect(matrix).toContain(`github.event_name == 'schedule' && '["load","stress"]'`);
    const profiles = Object.keys(
      JSON.parse(readFileSync(join(REPOSITORY_ROOT, 'loadtest/data/scenarios.json'), 'utf8')).profiles,
    );
    expect(workflow.on.workflow_dispatch.inputs.profile.options).toEqual(profiles);
    for (const job of ['compose', 'kind']) {
      const steps = workflow.jobs[job].steps as any[];
      const uses = steps.map((step) => String(step.uses ?? ''));
      expect(uses.filter((action) => action.startsWith('grafana/'))).toEqual([
        'grafana/setup-k6-action@43b9fc21641a76002687994433dd586f56e791b1',
        'grafana/run-k6-action@4082a08c7e40cf6d65863911077dfb60ae0a4f04',
      ]);
      const run = steps.find((step) => String(step.uses).startsWith('grafana/run-k6-action@'));
      expect(run.with.path).toBe('loadtest/k6/warren.ts');
      expect(run.with.flags ?? '').not.toMatch(/--vus|--duration/);
      const upload = steps.find((step) => String(step.uses).startsWith('actions/upload-artifact@'));
      expect(upload.if).toBe('always()');
      expect(upload.with.path).toBe(
        `summary-${run.env.PROFILE.includes('matrix') ? '${{ matrix.profile }}' : run.env.PROFILE}.json`,
      );
    }
  });

  it("run a short benchmark on CI's backing services: its table in the job summary, failing on errors only", () => {
    const workflow = yamlFile('.github/workflows/bench.yml');
    expect(Object.keys(workflow.on).sort()).toEqual(['pull_request', 'schedule', 'workflow_dispatch']);
    expect(workflow.on.pull_request.paths).toEqual(expect.arrayContaining(['packages/**', 'services/**']));
    const job = workflow.jobs['full-path'];
    // The same servers as the integration and end-to-end tests.
    expect(job.services).toEqual(yamlFile('.github/workflows/ci.yml').jobs['integration-e2e'].services);
    const steps = job.steps as any[];
    const bench = steps.find((step) => String(step.run ?? '').startsWith('npm run bench'));
    expect(bench.run).toContain('--markdown');
    expect(bench.run).toContain('--json');
    expect(bench.run).toContain('"$GITHUB_STEP_SUMMARY"');
    // Short: a few seconds per cell.
    expect(Number(workflow.on.workflow_dispatch.inputs.seconds.default)).toBeLessThanOrEqual(5);
    expect(bench.env.BENCH_SECONDS).toContain(`'${workflow.on.workflow_dispatch.inputs.seconds.default}'`);
    // No threshold on figures: only a wrong answer (errors in the JSON line) fails the job.
    const checks = steps.filter((step) => String(step.run ?? '').startsWith('jq '));
    expect(checks.map((step) => step.run)).toEqual([expect.stringContaining('.floor.errors + .warren.errors')]);
  });

  it('release every service image', () => {
    const release = yamlFile('.github/workflows/release.yml');
    expect([...release.jobs.images.strategy.matrix.service].sort()).toEqual([...SERVICES].sort());
  });

  it('have Dependabot watch every Dockerfile', () => {
    const dependabot = yamlFile('.github/dependabot.yml');
    const docker = (dependabot.updates as any[]).find((update) => update['package-ecosystem'] === 'docker');
    expect([...docker.directories].sort()).toEqual(SERVICES.map((name) => `/services/${name}`).sort());
  });
});
