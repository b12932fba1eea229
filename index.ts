export * from './lib/index.js';
export * from './lib/scaling.js';
