export type * from './config.js';
