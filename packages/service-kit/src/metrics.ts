import { collectDefaultMetrics, Registry } from 'prom-client';

/** A metrics registry with Node's default metrics, every series labelled with the service name. */
export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return registry;
}
