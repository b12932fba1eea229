export * from './lib/index.js';
export * from './lib/scaling.js';
export * from './interceptors/index.js';
export * from './middleware/index.js';
