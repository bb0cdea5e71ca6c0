// Imported first by main.ts: OpenTelemetry has to patch http, express, pg, ioredis and pino before anything
// loads them. Configured by the standard OTEL_* variables (see @warren/telemetry).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTelemetry } from '@warren/telemetry';

// The package.json beside src/ and dist/: service.version is the version that was built.
const { version } = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string };

export const telemetry = startTelemetry({ serviceName: 'orders', serviceVersion: version });
