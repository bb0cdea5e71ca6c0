/**
 * Summarizes a V8 CPU profile (`node --cpu-prof`, e.g. from `npm run bench -- --cpu-prof DIR`): where the
 * time went, by package (self time) and by function (self and total time), so that a hot path's waste shows
 * without a browser.
 *
 *   node packages/bench/dist/cpu-profile-summary.js FILE.cpuprofile [--top N] [--match TEXT]
 *
 * --match TEXT lists the functions whose name or file contains TEXT, with their total (inclusive) time.
 * --callers TEXT splits the self time of the functions matching TEXT by who called them: the first
 * frames up the stack outside Node's own code.
 * --parts sums self time by part of the work (tracing, logging, HTTP and Express, RPC, socket writes, garbage
 * collection…): the table of RESULTS.md's profile section. A native or Node frame counts for the first part up
 * its stack; socket writes and the garbage collector are parts of their own.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** The package a frame belongs to: `pkg` under node_modules, `node:…` for Node's own, else the file. */
function packageOf(url: string): string {
  if (url === '') return '(native/V8)';
  const modules = url.lastIndexOf('/node_modules/');
  if (modules !== -1) {
    const rest = url.slice(modules + '/node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? url);
  }
  if (url.startsWith('node:')) return url.split('/')[0] === 'node:internal' ? 'node:internal' : url;
  const warren = /\/(packages|services)\/([^/]+)\//.exec(url);
  return warren ? `@warren/${warren[2]}` : url;
}

/** The part of the work a package is, for --parts; undefined for Node's own and native code. */
const PARTS: [part: string, packages: RegExp][] = [
  ['tracing (OpenTelemetry)', /^(@opentelemetry\/|@warren\/telemetry$)/],
  ['logging (pino)', /^(pino|@pinojs\/|sonic-boom$|fast-redact$|pino-std-serializers$|on-exit-leak-free$)/],
  ['rate limit', /^express-rate-limit$/],
  ['Redis client', /^(ioredis|redis-parser|cluster-key-slot|denque|standard-as-callback)$/],
  ['PostgreSQL client', /^(pg|pg-protocol|pg-pool|pg-types|postgres-\w+|pg-int8|pgpass)$/],
  ['RPC (@warren/rpc, amqplib)', /^(@warren\/rpc|amqplib|buffer-more-ints)$/],
  ['validation (zod)', /^zod$/],
  ['metrics (prom-client)', /^(prom-client|tdigest|bintrees)$/],
  [
    'HTTP and Express',
    /^(node:_http_\w+|express|router|body-parser|raw-body|type-is|content-type|mime-types|mime-db|media-typer|path-to-regexp|helmet|cors|finalhandler|on-finished|forwarded|proxy-addr|qs|debug|iconv-lite|statuses|send|encodeurl|escape-html|parseurl|vary|accepts|negotiator|fresh|range-parser|http-errors|unpipe|etag|depd|bytes|safer-buffer|setprototypeof|inherits|toidentifier|ee-first|merge-descriptors|cookie|cookie-signature|content-disposition|ms|supports-color|has-flag)$/,
  ],
  ['Warren code', /^@warren\//],
];
const SOCKET_WRITES = new Set(['writeUtf8String', 'writeBuffer', 'writev', 'writeString', 'writeLatin1String']);

function partOfPackage(pkg: string): string | undefined {
  return PARTS.find(([, packages]) => packages.test(pkg))?.[0];
}

function frameKey(frame: CallFrame): string {
  const file = frame.url.replace(/^.*\/node_modules\//, '').replace(/^.*\/(packages|services)\//, '');
  return `${frame.functionName || '(anonymous)'} ${file}:${frame.lineNumber + 1}`;
}

function main(): void {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      top: { type: 'string', default: '25' },
      match: { type: 'string', multiple: true },
      callers: { type: 'string', multiple: true },
      parts: { type: 'boolean', default: false },
    },
  });
  const file = positionals[0];
  if (!file) {
    console.error('usage: cpu-profile-summary FILE.cpuprofile [--top N] [--match TEXT]');
    process.exitCode = 2;
    return;
  }
  const top = Number(values.top);
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

  // Self time per node from the samples.
  const selfMicros = new Map<number, number>();
  profile.samples.forEach((id, index) => {
    selfMicros.set(id, (selfMicros.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0));
  });
  const totalMicros = profile.endTime - profile.startTime;
  const idle = [...selfMicros].reduce(
    (sum, [id, micros]) => (byId.get(id)?.callFrame.functionName === '(idle)' ? sum + micros : sum),
    0,
  );
  const busy = totalMicros - idle;

  const selfByPackage = new Map<string, number>();
  const selfByFunction = new Map<string, number>();
  const totalByFunction = new Map<string, number>();
  for (const [id, micros] of selfMicros) {
    const node = byId.get(id)!;
    if (node.callFrame.functionName === '(idle)') continue;
    const pkg = packageOf(node.callFrame.url);
    selfByPackage.set(pkg, (selfByPackage.get(pkg) ?? 0) + micros);
    const key = frameKey(node.callFrame);
    selfByFunction.set(key, (selfByFunction.get(key) ?? 0) + micros);
    // Total time: credited once to every distinct function on the stack.
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frameName = frameKey(byId.get(at)!.callFrame);
      if (seen.has(frameName)) continue;
      seen.add(frameName);
      totalByFunction.set(frameName, (totalByFunction.get(frameName) ?? 0) + micros);
    }
  }

  const percent = (micros: number) => `${((micros / busy) * 100).toFixed(1).padStart(5)}%`;
  const list = (title: string, entries: Map<string, number>, count: number) => {
    console.log(`\n${title}`);
    for (const [name, micros] of [...entries].sort((a, b) => b[1] - a[1]).slice(0, count)) {
      console.log(`  ${percent(micros)}  ${(micros / 1000).toFixed(0).padStart(7)} ms  ${name}`);
    }
  };
  console.log(
    `${file}: ${(totalMicros / 1e6).toFixed(1)} s profiled, ${(busy / 1e6).toFixed(1)} s busy ` +
      `(${((busy / totalMicros) * 100).toFixed(0)}%); percentages are of busy time`,
  );
  if (values.parts) {
    const byPart = new Map<string, number>();
    for (const [id, micros] of selfMicros) {
      const frame = byId.get(id)!.callFrame;
      if (frame.functionName === '(idle)') continue;
      let part: string | undefined;
      if (frame.url === '' && SOCKET_WRITES.has(frame.functionName)) part = 'socket writes (system calls)';
      else if (frame.functionName === '(garbage collector)') part = 'garbage collection';
      for (let at: number | undefined = id; part === undefined && at !== undefined; at = parent.get(at)) {
        const { url } = byId.get(at)!.callFrame;
        // Loading modules happens once, at start-up (patching them for tracing included).
        if (url.startsWith('node:internal/modules/') || url.includes('/require-in-the-middle/')) {
          part = 'start-up (loading modules)';
        } else part = partOfPackage(packageOf(url));
      }
      const key = part ?? 'Node and other';
      byPart.set(key, (byPart.get(key) ?? 0) + micros);
    }
    list('Self time by part (native and Node frames count for the first part up their stack)', byPart, top);
  }
  list('Self time by package', selfByPackage, top);
  list('Self time by function', selfByFunction, top);
  list('Total time by function', totalByFunction, top);
  for (const text of values.callers ?? []) {
    const byCaller = new Map<string, number>();
    for (const [id, micros] of selfMicros) {
      if (!frameKey(byId.get(id)!.callFrame).includes(text)) continue;
      const callers: string[] = [];
      for (let at = parent.get(id); at !== undefined && callers.length < 3; at = parent.get(at)) {
        const frame = byId.get(at)!.callFrame;
        if (frame.url === '' || frame.url.startsWith('node:')) continue;
        callers.push(frameKey(frame));
      }
      const key = callers.join(' < ') || '(no caller outside Node)';
      byCaller.set(key, (byCaller.get(key) ?? 0) + micros);
    }
    list(`Self time of "${text}" by caller`, byCaller, top);
  }
  for (const text of values.match ?? []) {
    const matching = new Map([...totalByFunction].filter(([name]) => name.includes(text)));
    list(`Total time of functions matching "${text}"`, matching, top);
  }
}

main();
