import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { context, propagation, SpanKind, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { REPOSITORY_ROOT } from '@warren/launcher';
import { defineRoute, RpcClient, RpcRemoteError, RpcServer } from '@warren/rpc';
import { z } from 'zod';
import { startRunningSuite } from './support/running-suite';
import { PrivateVhost } from './support/vhost';

// A caller and a responder in another language, written from packages/contracts/asyncapi.json alone
// (interop/python, pika): the Python caller against the real users worker, and @warren/rpc calling a Python
// responder that continues the trace into a nested call back to Node.

jest.setTimeout(90_000);

const PYTHON = join(REPOSITORY_ROOT, '.tools/bin/python-pika');
const INTEROP = join(REPOSITORY_ROOT, 'interop/python');

/** Runs a Python script of interop/python to its end (bounded), its stdout as JSON lines. */
function runPython(script: string, args: string[], timeoutMs = 30_000): Promise<any[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [join(INTEROP, script), ...args], { cwd: INTEROP, timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`${script} exited ${code}: ${stderr}`));
      resolve(
        stdout
          .split('\n')
          .filter((line) => line.trim() !== '')
          .map((line) => JSON.parse(line)),
      );
    });
  });
}

describe('a Python caller (pika) against the real users worker', () => {
  let running: Awaited<ReturnType<typeof startRunningSuite>>;
  let steps: Record<string, any>;
  const email = `python-${randomUUID()}@example.com`;

  beforeAll(async () => {
    running = await startRunningSuite();
    const lines = await runPython('caller.py', [running.amqpUrl, email]);
    steps = Object.fromEntries(lines.map((line) => [line.step, line]));
  });
  afterAll(async () => {
    await running?.stop();
  });

  it('creates a user and reads it back, and a repeat with the same idempotency key is the same user', () => {
    expect(steps.create).toMatchObject({ ok: true, result: { email, name: 'Py Thon' } });
    expect(steps['create-again'].result.id).toBe(steps.create.result.id);
    expect(steps.get).toMatchObject({ ok: true, result: { id: steps.create.result.id, email } });
  });

  it('gets the typed errors: not_found, invalid_argument with the failed fields, no_route (retriable)', () => {
    expect(steps['get-unknown']).toMatchObject({ ok: false, code: 'not_found', retriable: false });
    expect(steps['create-invalid']).toMatchObject({ ok: false, code: 'invalid_argument', retriable: false });
    const paths = (steps['create-invalid'].details as { path: string }[]).map((detail) => detail.path).sort();
    expect(paths).toEqual(expect.arrayContaining(['email', 'name']));
    expect(steps['unknown-route']).toMatchObject({ ok: false, code: 'no_route', retriable: true });
  });

  it('is seen by the users service as any other call: the user is there through the API', async () => {
    const response = await fetch(`${running.baseUrl}/v1/users/${steps.create.result.id}`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ email });
  });
});

describe('@warren/rpc calling a Python responder (pika), the trace continued across both languages', () => {
  const suffix = randomUUID().replace(/-/g, '').slice(0, 8);
  const echo = defineRoute(`interop.echo${suffix}`, {
    request: z.strictObject({ text: z.string() }),
    reply: z.object({
      text: z.string(),
      traceId: z.string(),
      spanId: z.string(),
      nested: z.object({ text: z.string(), from: z.literal('node') }),
    }),
  });
  const pong = defineRoute(`interop.pong${suffix}`, {
    request: z.strictObject({ text: z.string() }),
    reply: z.object({ text: z.string(), from: z.literal('node') }),
  });
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  const vhost = new PrivateVhost();
  let responder: ChildProcess | undefined;
  let client: RpcClient;
  let server: RpcServer;

  beforeAll(async () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    trace.setGlobalTracerProvider(provider);
    await vhost.create();
    server = new RpcServer({ url: vhost.amqpUrl, connectionName: 'interop-node-server' });
    server.handle(pong, async ({ text }) => ({ text, from: 'node' as const }));
    await server.start();
    responder = spawn(PYTHON, [join(INTEROP, 'responder.py'), vhost.amqpUrl, echo.name, pong.name, '60'], {
      cwd: INTEROP,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const lines = createInterface({ input: responder.stdout! });
    await new Promise<void>((resolve, reject) => {
      lines.once('line', (line) => (line === 'ready' ? resolve() : reject(new Error(`responder said ${line}`))));
      responder!.once('exit', (code) => reject(new Error(`responder exited ${code}`)));
    });
    client = new RpcClient({ url: vhost.amqpUrl, connectionName: 'interop-node-client', defaultTimeoutMs: 5000 });
    await client.start();
  });
  afterAll(async () => {
    responder?.kill('SIGTERM');
    await client?.close();
    await server?.close();
    await vhost.delete();
    await provider.shutdown();
    trace.disable();
    propagation.disable();
    context.disable();
  });

  it("answers, and its nested call's SERVER span is a child of the Python span, in the caller's trace", async () => {
    const reply = await trace.getTracer('interop-test').startActiveSpan('caller', async (span) => {
      try {
        return await client.call(echo, { text: 'hello from node' });
      } finally {
        span.end();
      }
    });
    expect(reply.text).toBe('hello from node');
    expect(reply.nested).toEqual({ text: 'hello from node', from: 'node' });

    const spans = exporter.getFinishedSpans();
    const clientSpan = spans.find((span) => span.name === echo.name && span.kind === SpanKind.CLIENT)!;
    const nestedServer = spans.find((span) => span.name === pong.name && span.kind === SpanKind.SERVER)!;
    // Python took the trace from traceparent and made a span of its own (reported in the reply) ...
    expect(reply.traceId).toBe(clientSpan.spanContext().traceId);
    expect(reply.spanId).not.toBe(clientSpan.spanContext().spanId);
    // ... which the Node server of the nested call continued: one trace, Node → Python → Node.
    expect(nestedServer.spanContext().traceId).toBe(clientSpan.spanContext().traceId);
    expect(nestedServer.parentSpanContext?.spanId).toBe(reply.spanId);
  });

  it("gets the Python responder's typed error as an RpcRemoteError", async () => {
    const failure = await client.call(echo, { text: '' }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(RpcRemoteError);
    expect(failure).toMatchObject({ code: 'invalid_argument', retriable: false });
    expect((failure as RpcRemoteError).details).toEqual([{ path: 'text', message: 'required' }]);
  });
});
