export * from './api-keys';
export * from './catalog';
export * from './identity';
export * from './orders';
export * from './write-path';
