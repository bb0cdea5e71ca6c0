export { REPOSITORY_ROOT, Suite, type RunningService, type ServiceName, type SuiteOptions } from './suite';
