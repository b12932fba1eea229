export * from './axios.js';
export * from './cockatiel.js';
export * from './undici.js';
