export * from './axios.js';
export * from './cockatiel.js';
