/**
 * The service Dockerfiles read as text, against the workspace: the same pinned base in every stage, non-root,
 * NODE_ENV=production, OCI labels, exactly the @warren/* packages each depends on. The images themselves are built
 * by scripts/images.sh and run by test/containers (compose): a runtime dependency missing from a service's
 * package.json, or a workspace package a Dockerfile forgets to copy, fails there.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { REPOSITORY_ROOT } from '@warren/launcher';
import { dockerfilePath, finalStage, imageConfig, readDockerfile, words } from './support/dockerfile';

interface Manifest {
  name: string;
  dependencies?: Record<string, string>;
}

const SERVICES = readdirSync(join(REPOSITORY_ROOT, 'services')).sort();
const DEFAULT_PORT: Record<string, number> = { gateway: 8080, users: 9101, orders: 9102 };

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
  it('all build from the trixie-slim base of the pinned Node (.node-version), the same in every stage', () => {
    const pinned = readFileSync(join(REPOSITORY_ROOT, '.node-version'), 'utf8').trim();
    expect(pinned).toMatch(/^24\.\d+\.\d+$/);
    expect([...new Set(images.flat())]).toEqual([`node:${pinned}-trixie-slim`]);
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
