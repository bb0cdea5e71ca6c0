import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';

export interface ServiceIdentity {
  /** `service.name`; OTEL_SERVICE_NAME, when set, wins. */
  serviceName: string;
  /** `service.version`, the service's package.json version. */
  serviceVersion: string;
}

/** Where a process runs when nothing says otherwise: a developer's machine. */
export const DEFAULT_DEPLOYMENT_ENVIRONMENT = 'local';

/**
 * The attributes the code knows. They are the base the SDK's resource detectors merge onto, so what the
 * environment says wins: OTEL_SERVICE_NAME over the name, and OTEL_RESOURCE_ATTRIBUTES over everything
 * (deployment.environment=staging, and under Kubernetes k8s.pod.name / k8s.namespace.name, which the Helm
 * chart fills in from the downward API).
 */
export function serviceResource(identity: ServiceIdentity): Resource {
  return resourceFromAttributes({
    'service.name': identity.serviceName,
    'service.version': identity.serviceVersion,
    'deployment.environment': DEFAULT_DEPLOYMENT_ENVIRONMENT,
  });
}
