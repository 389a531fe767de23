export * from './api-keys';
export * from './catalog';
export * from './identity';
export * from './webhooks';
export * from './write-path';
