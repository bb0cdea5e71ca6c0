// Only what a service needs to start and stop telemetry: importing this loads neither the SDK nor the
// instrumentations (startTelemetry does, when telemetry is on).
export { setHttpRoute } from './http-route';
export { doNotTraceRequestsWhen } from './untraced-requests';
export type { ServiceIdentity } from './resource';
export {
  DEFAULT_SHUTDOWN_TIMEOUT_MS,
  shutdownTelemetry,
  startTelemetry,
  type Telemetry,
  type TelemetryOptions,
} from './telemetry';
