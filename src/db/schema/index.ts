export * from './api-keys';
export * from './carts';
export * from './catalog';
export * from './identity';
export * from './write-path';
