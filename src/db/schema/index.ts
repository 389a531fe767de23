export * from './api-keys';
export * from './carts';
export * from './catalog';
export * from './identity';
export * from './inventory';
export * from './payments';
export * from './webhooks';
export * from './write-path';
