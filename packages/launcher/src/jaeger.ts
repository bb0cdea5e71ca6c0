import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { REPOSITORY_ROOT } from './suite';
import { answersOk, startToolProcess } from './tool-process';

/** Where `scripts/tools.sh jaeger` builds Jaeger v2 (module github.com/jaegertracing/jaeger v1.76.0 = v2.13.0). */
export const JAEGER_BINARY = resolve(REPOSITORY_ROOT, '.tools/bin/jaeger');

export interface JaegerConfigOptions {
  /** OTLP over HTTP (what the services export with: OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:<port>). */
  otlpHttpPort: number;
  /** OTLP over gRPC; not opened unless given. */
  otlpGrpcPort?: number;
  /** The query HTTP API (/api/traces/<id>, /api/v3/…) and the UI. */
  queryPort: number;
  /** The query gRPC API, which nothing here uses: an ephemeral port unless given. */
  queryGrpcPort?: number;
  /** Interface everything listens on (default 127.0.0.1). */
  host?: string;
  /** Traces kept in memory, oldest dropped first (default 10000). */
  maxTraces?: number;
}

/**
 * A Jaeger v2 configuration (an OpenTelemetry Collector configuration) for local use: an OTLP receiver, traces
 * kept in memory, the query API — and nothing else listening (the all-in-one default also opens the Jaeger and
 * Zipkin receivers, remote sampling, health check, expvar, zpages and a metrics port, on fixed ports).
 * JSON is YAML, so the collector reads it as it is.
 */
export function renderJaegerConfig(options: JaegerConfigOptions): string {
  const host = options.host ?? '127.0.0.1';
  const protocols: Record<string, { endpoint: string }> = { http: { endpoint: `${host}:${options.otlpHttpPort}` } };
  if (options.otlpGrpcPort !== undefined) protocols.grpc = { endpoint: `${host}:${options.otlpGrpcPort}` };
  const config = {
    service: {
      extensions: ['jaeger_storage', 'jaeger_query'],
      pipelines: {
        traces: { receivers: ['otlp'], processors: ['batch'], exporters: ['jaeger_storage_exporter'] },
      },
      telemetry: {
        resource: { 'service.name': 'jaeger' },
        // No self-metrics endpoint (the default would listen on :8888).
        metrics: { level: 'none' },
        logs: { level: 'warn' },
      },
    },
    extensions: {
      jaeger_storage: { backends: { memstore: { memory: { max_traces: options.maxTraces ?? 10_000 } } } },
      jaeger_query: {
        storage: { traces: 'memstore' },
        // On by default: Jaeger would trace its own queries and export them to localhost:4317.
        enable_tracing: false,
        http: { endpoint: `${host}:${options.queryPort}` },
        grpc: { endpoint: `${host}:${options.queryGrpcPort ?? 0}` },
      },
    },
    receivers: { otlp: { protocols } },
    processors: { batch: { timeout: '100ms' } },
    exporters: { jaeger_storage_exporter: { trace_storage: 'memstore' } },
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}

export interface JaegerOptions extends JaegerConfigOptions {
  /** The Jaeger v2 executable (default .tools/bin/jaeger; `scripts/tools.sh jaeger` builds it). */
  binary?: string;
  readyTimeoutMs?: number;
}

export interface RunningJaeger {
  /** For OTEL_EXPORTER_OTLP_ENDPOINT (OTEL_EXPORTER_OTLP_PROTOCOL http/protobuf, the default). */
  otlpHttpEndpoint: string;
  /** Base URL of the query API and UI, e.g. `${queryUrl}/api/traces/<traceId>`. */
  queryUrl: string;
  configPath: string;
  /** Where Jaeger's own log goes. */
  logPath: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** Starts Jaeger v2 (in-memory storage) as a child process and waits until it receives and answers queries. */
export async function startJaeger(options: JaegerOptions): Promise<RunningJaeger> {
  const binary = options.binary ?? JAEGER_BINARY;
  if (!existsSync(binary)) throw new Error(`no Jaeger at ${binary}: build it with scripts/tools.sh jaeger`);
  const host = options.host ?? '127.0.0.1';
  const reachable = host === '0.0.0.0' ? '127.0.0.1' : host;
  const otlpHttpEndpoint = `http://${reachable}:${options.otlpHttpPort}`;
  const queryUrl = `http://${reachable}:${options.queryPort}`;
  const workDir = mkdtempSync(join(tmpdir(), 'warren-jaeger-'));
  const configPath = join(workDir, 'jaeger.yaml');
  writeFileSync(configPath, renderJaegerConfig(options));
  const tool = await startToolProcess({
    name: 'jaeger',
    binary,
    args: ['--config', configPath],
    workDir,
    readyTimeoutMs: options.readyTimeoutMs ?? 30_000,
    ready: async () => (await answersOk(`${queryUrl}/api/services`)) && (await receivesOtlp(otlpHttpEndpoint)),
  });
  return { otlpHttpEndpoint, queryUrl, configPath, logPath: tool.logPath, process: tool.process, stop: tool.stop };
}

/** An empty OTLP/JSON export: 200 once the receiver is up, and it stores nothing. */
async function receivesOtlp(endpoint: string): Promise<boolean> {
  try {
    const response = await fetch(`${endpoint}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
      signal: AbortSignal.timeout(1000),
    });
    return response.ok;
  } catch {
    return false;
  }
}
