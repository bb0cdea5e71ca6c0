/**
 * The service images without Docker. For each service, its Dockerfile is checked against the workspace (same pinned
 * base in every stage, non-root, NODE_ENV=production, OCI labels, exactly the @warren/* packages it depends on), then
 * its runtime stage is rebuilt in a temporary directory from the Dockerfile's own COPY and `npm ci --omit=dev` lines
 * and its CMD started with its ENV: /readyz must turn green. A runtime dependency missing from a service's
 * package.json, or a workspace package the Dockerfile forgets to copy, fails here.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, posix } from 'node:path';
import { REPOSITORY_ROOT } from '@warren/launcher';
import { finalStage, imageConfig, readDockerfile, words } from './support/dockerfile';
import { dockerfilePath, ImageRuntime } from './support/image-runtime';
import { freePort } from './support/network';

interface Manifest {
  name: string;
  dependencies?: Record<string, string>;
}

const SERVICES = readdirSync(join(REPOSITORY_ROOT, 'services')).sort();
const DEFAULT_PORT: Record<string, number> = { gateway: 8080, users: 9101, orders: 9102 };
/** The variable naming the port /readyz is served on. */
const READINESS_PORT_VARIABLE: Record<string, string> = { gateway: 'PORT', users: 'OPS_PORT', orders: 'OPS_PORT' };

function manifest(folder: string): Manifest {
  return JSON.parse(readFileSync(join(REPOSITORY_ROOT, folder, 'package.json'), 'utf8')) as Manifest;
}

/** Workspace folder of each @warren/* package name. */
const WORKSPACES = new Map(
  ['packages', 'services'].flatMap((parent) =>
    readdirSync(join(REPOSITORY_ROOT, parent))
      .filter((name) => existsSync(join(REPOSITORY_ROOT, parent, name, 'package.json')))
      .map((name) => [manifest(`${parent}/${name}`).name, `${parent}/${name}`] as const),
  ),
);

/** The workspace packages a service needs at run time: its @warren/* dependencies, transitively. */
function workspaceClosure(folder: string, seen = new Set<string>()): Set<string> {
  for (const dependency of Object.keys(manifest(folder).dependencies ?? {})) {
    const dependencyFolder = WORKSPACES.get(dependency);
    if (!dependencyFolder || seen.has(dependencyFolder)) continue;
    seen.add(dependencyFolder);
    workspaceClosure(dependencyFolder, seen);
  }
  return seen;
}

describe('service Dockerfiles', () => {
  it('exist for every service', () => {
    expect(SERVICES).toEqual(['gateway', 'orders', 'users']);
    for (const service of SERVICES) expect(existsSync(dockerfilePath(service))).toBe(true);
  });

  const images = SERVICES.map((service) => readDockerfile(dockerfilePath(service)).stages.map((stage) => stage.image));
  it('all build from one pinned Node 20 bookworm-slim base, the same in every stage', () => {
    const bases = new Set(images.flat());
    expect(bases.size).toBe(1);
    const [base = ''] = bases;
    expect(base).toMatch(/^node:20\.\d+\.\d+-bookworm-slim$/);
  });

  describe.each(SERVICES)('%s', (service) => {
    const dockerfile = readDockerfile(dockerfilePath(service));
    const runtime = finalStage(dockerfile);
    const config = imageConfig(runtime);
    const folder = `services/${service}`;

    it('has a build stage and a runtime stage', () => {
      expect(dockerfile.stages.map((stage) => stage.name)).toEqual(['build', 'runtime']);
      const build = dockerfile.stages[0]?.instructions.map((instruction) => instruction.rest) ?? [];
      expect(build.join('\n')).toContain(`npx tsc -b ${folder}`);
    });

    it('runs dist/main.js as uid 1000 (node) in production mode, with OCI labels', () => {
      expect(config.cmd).toEqual(['node', 'dist/main.js']);
      expect(config.workdir).toBe(`/app/${folder}`);
      expect(config.user).toBe('1000:1000'); // the base image's node user
      expect(config.environment.NODE_ENV).toBe('production');
      expect(config.exposed).toEqual([DEFAULT_PORT[service]]);
      for (const label of ['title', 'description', 'licenses', 'version', 'revision']) {
        expect(config.labels[`org.opencontainers.image.${label}`]).toBeTruthy();
      }
    });

    it('installs only its own production dependencies', () => {
      const installs = runtime.instructions.filter((instruction) => instruction.keyword === 'RUN');
      expect(installs.map((instruction) => instruction.rest)).toEqual([
        expect.stringMatching(
          new RegExp(`^npm ci --omit=dev --workspace ${folder} --include-workspace-root=false( |$)`),
        ),
      ]);
    });

    it('copies exactly the workspace packages it depends on (package.json and dist), its own and its migrations', () => {
      const copied = runtime.instructions
        .filter((instruction) => instruction.keyword === 'COPY')
        .flatMap((instruction) => words(instruction.rest).slice(0, -1))
        .map((source) => posix.relative('/app', posix.resolve('/app', source)));
      const needed = [...workspaceClosure(folder)].sort();
      const expected = ['package.json', 'package-lock.json'];
      for (const workspace of needed) expected.push(`${workspace}/package.json`, `${workspace}/dist`);
      expected.push(`${folder}/package.json`, `${folder}/dist`);
      if (existsSync(join(REPOSITORY_ROOT, folder, 'migrations'))) expected.push(`${folder}/migrations`);
      expect(copied.sort()).toEqual(expected.sort());
    });
  });
});

describe('service images, runtime stage rebuilt without Docker', () => {
  const runtimes = new Map<string, ImageRuntime>();
  const ports = new Map<string, number>();

  beforeAll(() => {
    for (const service of SERVICES) runtimes.set(service, new ImageRuntime(service));
  });

  afterAll(async () => {
    for (const runtime of runtimes.values()) await runtime.stop(5_000);
    if (process.env.KEEP_IMAGE_DIRECTORIES !== 'true') {
      for (const runtime of runtimes.values()) rmSync(runtime.root, { recursive: true, force: true });
    }
  });

  it('lays out each runtime stage and installs its production dependencies', async () => {
    for (const service of SERVICES)
      expect(existsSync(join(REPOSITORY_ROOT, 'services', service, 'dist/main.js'))).toBe(true);
    await Promise.all([...runtimes.values()].map((runtime) => runtime.build()));
    // Nothing resolves modules from above the image's root the way nothing would in a container.
    for (const runtime of runtimes.values()) {
      let directory = runtime.root;
      while (directory !== '/') {
        directory = posix.dirname(directory);
        expect(existsSync(join(directory, 'node_modules'))).toBe(false);
      }
      // dev-only packages stay out
      expect(existsSync(runtime.inImage('/app/node_modules/typescript'))).toBe(false);
      expect(existsSync(runtime.inImage('/app/node_modules/jest'))).toBe(false);
    }
  }, 150_000);

  it('starts each CMD with the image ENV and reaches a green /readyz, writing nothing outside /tmp', async () => {
    const snapshots = new Map([...runtimes].map(([service, runtime]) => [service, runtime.snapshot()]));
    const start = async (service: string) => {
      const runtime = runtimes.get(service) as ImageRuntime;
      const port = await freePort();
      ports.set(service, port);
      runtime.start({ LOG_LEVEL: 'warn', [READINESS_PORT_VARIABLE[service] ?? 'PORT']: String(port) });
      await runtime.waitUntilReady(`http://127.0.0.1:${port}/readyz`);
    };
    // The gateway is ready once every route has a consumer: the workers first.
    await Promise.all(SERVICES.filter((service) => service !== 'gateway').map(start));
    await start('gateway');

    const response = await fetch(`http://127.0.0.1:${ports.get('gateway')}/v1/users?limit=1`);
    expect(response.status).toBe(200);

    for (const [service, runtime] of runtimes) {
      expect(await runtime.stop()).toBe(0);
      expect(runtime.snapshot()).toEqual(snapshots.get(service));
    }
  }, 120_000);
});
