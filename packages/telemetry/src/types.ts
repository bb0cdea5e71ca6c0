export interface Telemetry {
  /** False when OTEL_SDK_DISABLED=true: no SDK, no instrumentation, nothing exported. */
  readonly enabled: boolean;
  /** Flushes the spans still queued and stops exporting; never takes longer than `timeoutMs`. */
  shutdown(timeoutMs?: number): Promise<void>;
}

/**
 * What a shutdown waits for the last spans to be exported. A collector that answers takes milliseconds; one
 * that is down would be retried until OTEL_EXPORTER_OTLP_TIMEOUT (10 s), for spans that are lost anyway.
 */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 2000;
