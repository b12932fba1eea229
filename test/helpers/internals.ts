// Everything the sources export, public or not, for tests that exercise internals. The package's public entry is
// ../../index.ts; test/public-api.test.ts keeps it equal to the README's list.
export * from '../../lib/index.js';
export * from '../../lib/scaling.js';
export * from '../../interceptors/index.js';
export * from '../../middleware/index.js';
