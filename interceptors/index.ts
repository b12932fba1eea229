export * from './cockatiel.js';
