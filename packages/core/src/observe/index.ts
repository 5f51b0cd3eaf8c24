export * from './json-data.js';
export * from './recording.js';
