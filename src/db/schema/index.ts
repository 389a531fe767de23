export * from './api-keys';
export * from './catalog';
export * from './identity';
export * from './storefront';
export * from './write-path';
