import { context, propagation } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  CompositePropagator,
  getBooleanFromEnv,
  W3CBaggagePropagator,
  W3CTraceContextPropagator,
} from '@opentelemetry/core';
import type { ServiceIdentity } from './resource';
import type * as Sdk from './sdk';
import { DEFAULT_SHUTDOWN_TIMEOUT_MS, type Telemetry } from './types';

export { DEFAULT_SHUTDOWN_TIMEOUT_MS, type Telemetry } from './types';

export type TelemetryOptions = ServiceIdentity;

let current: Telemetry | undefined;

/**
 * Starts OpenTelemetry for this process: traces over OTLP and trace ids in pino's log lines. Call it before
 * anything loads express, pg, ioredis or pino (a service's `src/telemetry.ts`, imported first by main.ts).
 *
 * Everything operational comes from the standard variables, read by the SDK itself: OTEL_SDK_DISABLED,
 * OTEL_TRACES_EXPORTER (default otlp; `none` exports nothing), OTEL_EXPORTER_OTLP_ENDPOINT / _PROTOCOL
 * (default http://localhost:4318, http/protobuf), OTEL_TRACES_SAMPLER / _ARG (default parentbased_always_on),
 * OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_PROPAGATORS (default tracecontext,baggage) and the batch
 * processor's OTEL_BSP_* (queue of 2048 spans, dropped beyond that; OTEL_EXPORTER_OTLP_TIMEOUT 10 s). Spans
 * are exported in the background in batches, so a collector that is slow or down costs a request nothing;
 * export failures go to OpenTelemetry's diag logger, which is silent unless OTEL_LOG_LEVEL is set.
 *
 * Only traces: the SDK's OTLP metrics and logs exporters are not started (metrics are Prometheus, from
 * prom-client; logs are JSON lines on stdout).
 *
 * Idempotent: a second call returns the telemetry the first one started.
 */
export function startTelemetry(options: TelemetryOptions): Telemetry {
  current ??= getBooleanFromEnv('OTEL_SDK_DISABLED') ? startContextOnly() : startSdk(options);
  return current;
}

/**
 * The SDK and the instrumentations are loaded only when they are used: switched off, a service does not pay
 * for them (some 30 MB of memory and 0.2 s of start-up for ~50 modules).
 */
function startSdk(options: TelemetryOptions): Telemetry {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const sdk = require('./sdk') as typeof Sdk;
  return sdk.startSdk(options);
}

/** Shuts down what startTelemetry started, if anything (a shutdown step of every service). */
export function shutdownTelemetry(timeoutMs = DEFAULT_SHUTDOWN_TIMEOUT_MS): Promise<void> {
  return current ? current.shutdown(timeoutMs) : Promise.resolve();
}

/**
 * OTEL_SDK_DISABLED=true: the SDK (tracer provider, exporter, instrumentations) is not started. The API's
 * context manager and W3C propagators are still set up — they export nothing and cost next to nothing — so
 * that the request id, carried as baggage from the gateway through every RPC hop, still reaches the workers'
 * log lines when tracing is off.
 *
 * Reading OTEL_SDK_DISABLED here, with the SDK's own parser, is the package's one look at the environment:
 * it decides whether the instrumentations get created (and patch modules) at all.
 */
function startContextOnly(): Telemetry {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(
    new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
  );
  return { enabled: false, shutdown: () => Promise.resolve() };
}
