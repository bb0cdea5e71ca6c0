import { trace } from '@opentelemetry/api';
import { defaultResource } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { serviceResource } from './resource';

const VARIABLES = ['OTEL_SERVICE_NAME', 'OTEL_RESOURCE_ATTRIBUTES'] as const;

/** The resource of a span from a NodeSDK set up as startTelemetry does, with these variables set. */
async function resourceWith(environment: Partial<Record<(typeof VARIABLES)[number], string>>) {
  const saved = VARIABLES.map((name) => [name, process.env[name]] as const);
  for (const name of VARIABLES) delete process.env[name];
  Object.assign(process.env, environment);
  const exporter = new InMemorySpanExporter();
  const sdk = new NodeSDK({
    resource: defaultResource().merge(serviceResource({ serviceName: 'users', serviceVersion: '1.2.3' })),
    spanProcessors: [new SimpleSpanProcessor({ exporter })],
    instrumentations: [],
    metricReaders: [],
    logRecordProcessors: [],
  });
  try {
    sdk.start();
    trace.getTracer('test').startSpan('probe').end();
    // Some detected attributes (host.id) come asynchronously; the span is exported once they are there.
    for (let attempt = 0; attempt < 100 && exporter.getFinishedSpans().length === 0; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const [span] = exporter.getFinishedSpans() as ReadableSpan[];
    return span!.resource.attributes;
  } finally {
    await sdk.shutdown();
    trace.disable();
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

describe('the resource of every span', () => {
  it('names the service, its version and a local environment by default', async () => {
    expect(await resourceWith({})).toMatchObject({
      'service.name': 'users',
      'service.version': '1.2.3',
      'deployment.environment': 'local',
      'telemetry.sdk.language': 'nodejs',
    });
  });

  it('takes OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (the Helm chart’s pod and namespace) over the code', async () => {
    const attributes = await resourceWith({
      OTEL_SERVICE_NAME: 'users-canary',
      OTEL_RESOURCE_ATTRIBUTES:
        'deployment.environment=staging,k8s.pod.name=users-7d9f-abcde,k8s.namespace.name=warren',
    });
    expect(attributes).toMatchObject({
      'service.name': 'users-canary',
      'service.version': '1.2.3',
      'deployment.environment': 'staging',
      'k8s.pod.name': 'users-7d9f-abcde',
      'k8s.namespace.name': 'warren',
    });
  });
});
