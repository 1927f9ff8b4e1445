export * from './parser.js';
export * from './transcript.js';
