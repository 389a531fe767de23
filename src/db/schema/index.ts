export * from './api-keys';
export * from './catalog';
