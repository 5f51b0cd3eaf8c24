export * from './json-data.js';
export * from './recording.js';
export * from './diagram.js';
export * from './timeline.js';
export * from './charts.js';
export * from './trace-page.js';
export { traceClient } from './page/client.js';
