import { runDeadLetterCommand } from '@warren/service-kit';
import { loadConfig } from './config';

// `node dist/dlq.js list|show|replay|purge <route>`: the dead letters of a route (RELIABILITY.md, "Dead letters").
runDeadLetterCommand({ service: 'users', loadConfig });
