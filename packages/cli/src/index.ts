export { run, version, defaultDependencies, type RunDependencies } from './main.js';
export { fetchCommand, randomLocalMac, type CliIo, type FetchDependencies, type FetchOptions } from './fetch.js';
export { demoCommand, type DemoDependencies, type DemoLab, type DemoOptions } from './demo.js';
export * from './errors.js';
export * from './http.js';
export * from './url.js';
export type { FetchStack, OpenStack, StackOpenOptions, ConnectOptions } from './stack.js';
export { openPcapStack } from './stack.js';
export { formatHostEvent, formatSegment, formatFlags, formatOptions } from './trace.js';
export { diagramCommand, renderDiagram, DIAGRAM_FORMATS, type DiagramFormat, type DiagramOptions } from './diagram.js';
export { replayCommand, countRecording, describeDifference, type ReplayOptions, type RecordingCounts } from './replay.js';
export { parseInspectorUrl, DEFAULT_INSPECTOR_URL } from './inspector-url.js';
export {
  openInspector,
  type LiveInspector,
  type InspectObserver,
  type InspectorLimits,
} from './inspector.js';
export { FetchWatch, writeRecording, tracePageOf, type WatchOptions } from './watch.js';
export { ObservingHost, tracedSocket } from './observing-host.js';
