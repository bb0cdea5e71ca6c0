export * from './common';
export * from './orders';
export * from './users';
export * from './headers';
export * from './json-schema';
