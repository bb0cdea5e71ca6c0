import { runMigrationCommand } from '@warren/service-kit';
import { loadConfig } from './config';

runMigrationCommand({ service: 'orders', loadConfig });
