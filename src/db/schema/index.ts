export * from './api-keys';
export * from './cache-versions';
export * from './catalog';
export * from './identity';
export * from './write-path';
