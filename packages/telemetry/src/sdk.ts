import { defaultResource } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { warrenInstrumentations } from './instrumentations';
import { serviceResource, type ServiceIdentity } from './resource';
import { DEFAULT_SHUTDOWN_TIMEOUT_MS, type Telemetry } from './types';

/** The NodeSDK, started (see startTelemetry for what it does and what configures it). */
export function startSdk(options: ServiceIdentity): Telemetry {
  const sdk = new NodeSDK({
    // The SDK's detectors (env, process, host; or OTEL_NODE_RESOURCE_DETECTORS) are merged onto this, so
    // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES override it.
    resource: defaultResource().merge(serviceResource(options)),
    instrumentations: warrenInstrumentations(),
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();
  let stopped: Promise<void> | undefined;
  return {
    enabled: true,
    shutdown(timeoutMs = DEFAULT_SHUTDOWN_TIMEOUT_MS) {
      // A failing flush is the collector's problem, never a reason for the service to fail its shutdown.
      stopped ??= sdk.shutdown().catch(() => undefined);
      return withTimeout(stopped, timeoutMs);
    },
  };
}

function withTimeout(promise: Promise<void>, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    timer.unref();
    void promise.finally(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
