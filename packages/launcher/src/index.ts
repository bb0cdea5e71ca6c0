export {
  REPOSITORY_ROOT,
  Suite,
  type RunningService,
  type ServiceName,
  type SuiteAuthentication,
  type SuiteOptions,
} from './suite';
export {
  DEFAULT_TARGET_PORTS,
  PROMETHEUS_JOBS,
  RABBITMQ_METRICS_PATH,
  RULES_PATH,
  renderPrometheusConfig,
  startPrometheus,
  type PrometheusOptions,
  type PrometheusTarget,
  type RunningPrometheus,
} from './prometheus';
export {
  JAEGER_BINARY,
  renderJaegerConfig,
  startJaeger,
  type JaegerConfigOptions,
  type JaegerOptions,
  type RunningJaeger,
} from './jaeger';
export { startLocalIssuer, type LocalIssuer, type LocalIssuerOptions, type MintClaims } from './local-issuer';
