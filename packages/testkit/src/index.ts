export { naiveMatch } from './naive-matcher.js';
