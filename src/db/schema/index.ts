export * from './analytics';
export * from './api-keys';
export * from './catalog';
export * from './events';
export * from './identity';
export * from './write-path';
