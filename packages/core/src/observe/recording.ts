/**
 * Recording and replay of a host's whole life.
 *
 * A host is deterministic: the same configuration (with its ISN secret) and
 * the same calls in the same order give the same results. So a run is fully
 * described by its configuration and its call log. `RecordingHost` writes that
 * log while forwarding every call; `replayRecording` makes a fresh host, makes
 * the same calls and compares every result with the recorded one.
 *
 * Output calls (`pollFrame`, `pollEvent`, `nextDeadline`) are logged like the
 * inputs, including the ones that returned nothing: polling has effects (the
 * host builds segments lazily when polled), so a faithful replay must poll at
 * the same points.
 */
import { type Either, left, right } from 'fp-ts/lib/Either.js';
import { defaultTcpConfig, type TcpConfig } from '../tcp/config.js';
import type { CongestionAlgorithm } from '../tcp/congestion.js';
import {
  type FrameChecks,
  type HostConfig,
  type HostEvent,
  type HostStats,
  type NetworkHost,
  pollFrameInto,
  type SendOptions,
  type SocketId,
} from '../stack/host-types.js';
import { bytesToHex, canonicalJson, hexToBytes, type JsonValue, toJsonData } from './json-data.js';

export const RECORDING_VERSION = 1;

/** Every method of `NetworkHost`. */
export type HostCall =
  | 'receiveFrame'
  | 'advanceTime'
  | 'pollFrame'
  | 'pollEvent'
  | 'nextDeadline'
  | 'connect'
  | 'listen'
  | 'send'
  | 'consume'
  | 'close'
  | 'abort'
  | 'socketState'
  | 'localPort';

/**
 * How an argument is written: bytes as a hex string, an optional number as null
 * when absent; `send`'s options as an object, and left out when the call had none
 * (so a recording of plain sends is the same as before the options existed);
 * `receiveFrame`'s device checks as a number, left out when there were none, and
 * the size of the segments a device merged after them, left out for a frame as it came.
 */
type ArgumentKind =
  | 'bytes'
  | 'number'
  | 'optional-number'
  | 'trailing-send-options'
  | 'trailing-frame-checks'
  | 'trailing-segment-size';

const isTrailing = (kind: ArgumentKind): boolean =>
  kind === 'trailing-send-options' || kind === 'trailing-frame-checks' || kind === 'trailing-segment-size';

/** `SendOptions` as recorded: only the fields the call set. */
export interface RecordedSendOptions {
  readonly urgent?: boolean;
}

/** One recorded argument. */
export type RecordedArgument = number | string | null | RecordedSendOptions;

const SIGNATURES: { readonly [call in HostCall]: readonly ArgumentKind[] } = {
  receiveFrame: ['bytes', 'number', 'trailing-frame-checks', 'trailing-segment-size'],
  advanceTime: ['number'],
  pollFrame: [],
  pollEvent: [],
  nextDeadline: [],
  connect: ['number', 'number', 'number', 'optional-number'],
  listen: ['number', 'number'],
  send: ['number', 'bytes', 'number', 'trailing-send-options'],
  consume: ['number', 'number', 'number'],
  close: ['number', 'number'],
  abort: ['number', 'number'],
  socketState: ['number'],
  localPort: ['number'],
};

const OUTPUT_CALLS: ReadonlySet<HostCall> = new Set([
  'pollFrame',
  'pollEvent',
  'nextDeadline',
  'socketState',
  'localPort',
]);

/** The calls that feed the host (frames, time, the application's calls), as opposed to those that read from it. */
export const isInputCall = (call: HostCall): boolean => !OUTPUT_CALLS.has(call);

export interface RecordedError {
  readonly name: string;
  readonly message: string;
  /** `StackError.code`, when the host threw one. */
  readonly code?: string;
}

/** What a call gave back: its return value as JSON data (see `toJsonData`), or what it threw. */
export type RecordedOutcome = { readonly returned: JsonValue } | { readonly threw: RecordedError };

export interface RecordedStep {
  readonly call: HostCall;
  /** The arguments in order: numbers, byte arrays as hex, an absent optional number as null, send options as an object. */
  readonly args: readonly RecordedArgument[];
  readonly outcome: RecordedOutcome;
}

/** `HostConfig` as JSON-safe data. The `inspect` observer is not data and is not recorded. */
export interface RecordedHostConfig {
  readonly mac: number;
  readonly ip: number;
  readonly prefixLength: number;
  readonly gateway?: number;
  readonly mtu?: number;
  /** The RFC 6528 secret as hex. */
  readonly isnSecret: string;
  readonly ephemeralPortStart?: number;
  readonly tcp?: Partial<TcpConfig>;
  readonly traceSegments?: boolean;
  readonly transmitChecksumOffload?: boolean;
  readonly congestion?: CongestionAlgorithm;
}

export interface Recording {
  readonly version: 1;
  readonly config: RecordedHostConfig;
  readonly steps: readonly RecordedStep[];
}

export const recordHostConfig = (config: HostConfig): RecordedHostConfig => ({
  mac: config.mac,
  ip: config.ip,
  prefixLength: config.prefixLength,
  ...(config.gateway !== undefined ? { gateway: config.gateway } : {}),
  ...(config.mtu !== undefined ? { mtu: config.mtu } : {}),
  isnSecret: bytesToHex(config.isnSecret),
  ...(config.ephemeralPortStart !== undefined ? { ephemeralPortStart: config.ephemeralPortStart } : {}),
  ...(config.tcp !== undefined ? { tcp: { ...config.tcp } } : {}),
  ...(config.traceSegments !== undefined ? { traceSegments: config.traceSegments } : {}),
  ...(config.transmitChecksumOffload !== undefined ? { transmitChecksumOffload: config.transmitChecksumOffload } : {}),
  ...(config.congestion !== undefined ? { congestion: config.congestion } : {}),
});

/** The host configuration a recording was made with. The secret was checked by `parseRecording`. */
export const hostConfigOf = (recorded: RecordedHostConfig): HostConfig => {
  const { isnSecret, ...rest } = recorded;
  return { ...rest, isnSecret: hexToBytes(isnSecret) ?? new Uint8Array(0) };
};

const recordSendOptions = (options: SendOptions): RecordedSendOptions =>
  options.urgent === undefined ? {} : { urgent: options.urgent };

const sendOptionsOf = (recorded: RecordedSendOptions): SendOptions =>
  recorded.urgent === undefined ? {} : { urgent: recorded.urgent };

const errorRecord = (error: unknown): RecordedError => {
  if (error instanceof Error) {
    const code: unknown = (error as { code?: unknown }).code;
    return { name: error.name, message: error.message, ...(typeof code === 'string' ? { code } : {}) };
  }
  return { name: 'thrown', message: String(error) };
};

/**
 * Wraps a host: forwards every call and logs it with its arguments and result.
 * `inner` stays reachable for what is not part of `NetworkHost` (e.g. `connectionOf`).
 */
export class RecordingHost<H extends NetworkHost = NetworkHost> implements NetworkHost {
  private readonly steps: RecordedStep[] = [];
  private readonly config: RecordedHostConfig;

  constructor(
    readonly inner: H,
    config: HostConfig,
  ) {
    this.config = recordHostConfig(config);
  }

  /** Makes the host from `config` and wraps it, so the recorded configuration is the one used. */
  static create<H extends NetworkHost>(config: HostConfig, createHost: (config: HostConfig) => H): RecordingHost<H> {
    return new RecordingHost(createHost(config), config);
  }

  get stats(): HostStats {
    return this.inner.stats;
  }

  /** The log so far, as plain data. */
  recording(): Recording {
    return { version: RECORDING_VERSION, config: this.config, steps: this.steps.slice() };
  }

  receiveFrame(frame: Uint8Array, now: number, checked?: FrameChecks, segmentSize?: number): void {
    // The hex copy is taken before the call: the caller may reuse its buffer.
    const merged = segmentSize !== undefined && segmentSize > 0;
    const args = [bytesToHex(frame), now, ...(merged ? [checked ?? 0, segmentSize] : checked ? [checked] : [])];
    this.record('receiveFrame', args, () => this.inner.receiveFrame(frame, now, checked, segmentSize));
  }

  advanceTime(now: number): void {
    this.record('advanceTime', [now], () => this.inner.advanceTime(now));
  }

  pollFrame(): Uint8Array | undefined {
    return this.record('pollFrame', [], () => this.inner.pollFrame());
  }

  /** Recorded as the `pollFrame` it stands for: the same frame, so a replay polls it the plain way. */
  pollFrameInto(buffer: Uint8Array, offset = 0): number {
    let length = 0;
    this.record('pollFrame', [], () => {
      length = pollFrameInto(this.inner, buffer, offset);
      return length === 0 ? undefined : buffer.subarray(offset, offset + length);
    });
    return length;
  }

  pollEvent(): HostEvent | undefined {
    return this.record('pollEvent', [], () => this.inner.pollEvent());
  }

  nextDeadline(): number | undefined {
    return this.record('nextDeadline', [], () => this.inner.nextDeadline());
  }

  /** Not recorded: reusing memory changes no output (each data event was recorded as its bytes when polled). */
  release(data: Uint8Array): void {
    this.inner.release(data);
  }

  connect(remoteIp: number, remotePort: number, now: number, localPort?: number): SocketId {
    return this.record('connect', [remoteIp, remotePort, now, localPort ?? null], () =>
      this.inner.connect(remoteIp, remotePort, now, localPort),
    );
  }

  listen(port: number, now: number): SocketId {
    return this.record('listen', [port, now], () => this.inner.listen(port, now));
  }

  send(socket: SocketId, data: Uint8Array, now: number, options?: SendOptions): number {
    const args = [socket, bytesToHex(data), now, ...(options === undefined ? [] : [recordSendOptions(options)])];
    return this.record('send', args, () => this.inner.send(socket, data, now, options));
  }

  consume(socket: SocketId, bytes: number, now: number): void {
    this.record('consume', [socket, bytes, now], () => this.inner.consume(socket, bytes, now));
  }

  close(socket: SocketId, now: number): void {
    this.record('close', [socket, now], () => this.inner.close(socket, now));
  }

  abort(socket: SocketId, now: number): void {
    this.record('abort', [socket, now], () => this.inner.abort(socket, now));
  }

  socketState(socket: SocketId): string | undefined {
    return this.record('socketState', [socket], () => this.inner.socketState(socket));
  }

  localPort(socket: SocketId): number | undefined {
    return this.record('localPort', [socket], () => this.inner.localPort?.(socket));
  }

  private record<T>(call: HostCall, args: readonly RecordedArgument[], run: () => T): T {
    let result: T;
    try {
      result = run();
    } catch (error) {
      this.steps.push({ call, args, outcome: { threw: errorRecord(error) } });
      throw error;
    }
    // Encoded at once: frames are views into buffers the host may reuse.
    this.steps.push({ call, args, outcome: { returned: toJsonData(result) } });
    return result;
  }
}

// ------------------------------------------------------------------ replay

export interface ReplayDifference {
  /** Index into `steps`; -1 when the host could not even be made from the configuration. */
  readonly step: number;
  readonly call: HostCall | 'createHost';
  /** The recorded and the replayed outcome, as canonical JSON. */
  readonly expected: string;
  readonly actual: string;
  /** Where two frames first differ, when both are byte arrays. */
  readonly detail?: string;
}

export interface ReplayResult {
  readonly identical: boolean;
  readonly firstDifference?: ReplayDifference;
  /** The steps as replayed: the same calls with the outcomes the new host gave. */
  readonly outputs: readonly RecordedStep[];
}

const decodeArgs = (step: RecordedStep): unknown[] =>
  SIGNATURES[step.call].map((kind, i) => {
    const value = step.args[i];
    if (kind === 'bytes') return typeof value === 'string' ? (hexToBytes(value) ?? new Uint8Array(0)) : new Uint8Array(0);
    if (kind === 'optional-number') return value === null ? undefined : value;
    if (kind === 'trailing-send-options') return value === undefined ? undefined : sendOptionsOf(value as RecordedSendOptions);
    return value;
  });

/** Makes the recorded call on `host`. Arguments were validated by `parseRecording` (or come from a `RecordingHost`). */
const invoke = (host: NetworkHost, call: HostCall, args: unknown[]): unknown => {
  const n = (i: number): number => args[i] as number;
  const bytes = (i: number): Uint8Array => args[i] as Uint8Array;
  switch (call) {
    case 'receiveFrame':
      if (args[3] !== undefined) return host.receiveFrame(bytes(0), n(1), n(2), n(3));
      return args[2] === undefined ? host.receiveFrame(bytes(0), n(1)) : host.receiveFrame(bytes(0), n(1), n(2));
    case 'advanceTime':
      return host.advanceTime(n(0));
    case 'pollFrame':
      return host.pollFrame();
    case 'pollEvent':
      return host.pollEvent();
    case 'nextDeadline':
      return host.nextDeadline();
    case 'connect':
      return host.connect(n(0), n(1), n(2), args[3] === undefined ? undefined : n(3));
    case 'listen':
      return host.listen(n(0), n(1));
    case 'send':
      return args[3] === undefined ? host.send(n(0), bytes(1), n(2)) : host.send(n(0), bytes(1), n(2), args[3] as SendOptions);
    case 'consume':
      return host.consume(n(0), n(1), n(2));
    case 'close':
      return host.close(n(0), n(1));
    case 'abort':
      return host.abort(n(0), n(1));
    case 'socketState':
      return host.socketState(n(0));
    case 'localPort':
      return host.localPort?.(n(0));
  }
};

const hexOf = (outcome: RecordedOutcome): string | undefined => {
  if (!('returned' in outcome)) return undefined;
  const value = outcome.returned;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const hex = (value as { readonly [key: string]: JsonValue })['$hex'];
  return typeof hex === 'string' ? hex : undefined;
};

const describeByteDifference = (expected: RecordedOutcome, actual: RecordedOutcome): string | undefined => {
  const a = hexOf(expected);
  const b = hexOf(actual);
  if (a === undefined || b === undefined) return undefined;
  let offset = 0;
  while (offset < a.length && offset < b.length && a.slice(offset, offset + 2) === b.slice(offset, offset + 2)) offset += 2;
  if (a.length === b.length && offset === a.length) return undefined;
  return `bytes differ from offset ${offset / 2} (expected length ${a.length / 2}, actual ${b.length / 2})`;
};

/**
 * Makes a fresh host from the recorded configuration, makes every recorded
 * call in order and compares each outcome with the recorded one. Replay goes
 * on after a difference, so `outputs` is the complete new log.
 */
export const replayRecording = (
  recording: Recording,
  createHost: (config: HostConfig) => NetworkHost,
): ReplayResult => {
  let host: NetworkHost;
  try {
    host = createHost(hostConfigOf(recording.config));
  } catch (error) {
    return {
      identical: false,
      firstDifference: {
        step: -1,
        call: 'createHost',
        expected: 'a host',
        actual: canonicalJson(toJsonData(errorRecord(error))),
      },
      outputs: [],
    };
  }
  const outputs: RecordedStep[] = [];
  let firstDifference: ReplayDifference | undefined;
  recording.steps.forEach((step, index) => {
    let outcome: RecordedOutcome;
    try {
      outcome = { returned: toJsonData(invoke(host, step.call, decodeArgs(step))) };
    } catch (error) {
      outcome = { threw: errorRecord(error) };
    }
    outputs.push({ call: step.call, args: step.args, outcome });
    if (firstDifference !== undefined) return;
    const expected = canonicalJson(toJsonData(step.outcome));
    const actual = canonicalJson(toJsonData(outcome));
    if (expected !== actual) {
      const detail = describeByteDifference(step.outcome, outcome);
      firstDifference = { step: index, call: step.call, expected, actual, ...(detail ? { detail } : {}) };
    }
  });
  return firstDifference ? { identical: false, firstDifference, outputs } : { identical: true, outputs };
};

// ------------------------------------------------------- text form

/**
 * JSON lines: a header `{"version":1,"config":{…}}`, then one step per line,
 * so a long run can be read, diffed and cut with line tools.
 */
export const serializeRecording = (recording: Recording): string => {
  const lines = [JSON.stringify({ version: recording.version, config: recording.config })];
  for (const step of recording.steps) lines.push(JSON.stringify(step));
  return `${lines.join('\n')}\n`;
};

const HOST_CALLS = Object.keys(SIGNATURES) as HostCall[];
const CONGESTION_ALGORITHMS: readonly string[] = ['newreno', 'cubic'];

type Parsed<T> = Either<string, T>;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const isFiniteNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

const isHex = (value: unknown): value is string => typeof value === 'string' && hexToBytes(value) !== undefined;

const checkKeys = (record: Record<string, unknown>, allowed: readonly string[], where: string): string | undefined => {
  const unknown = Object.keys(record).filter((key) => !allowed.includes(key));
  return unknown.length > 0 ? `${where}: unknown field ${unknown.map((k) => JSON.stringify(k)).join(', ')}` : undefined;
};

const validateTcpConfig = (value: unknown): string | undefined => {
  if (!isRecord(value)) return 'config.tcp: not an object';
  for (const [key, item] of Object.entries(value)) {
    if (!(key in defaultTcpConfig)) return `config.tcp: unknown field ${JSON.stringify(key)}`;
    const expected = typeof defaultTcpConfig[key as keyof TcpConfig];
    if (typeof item !== expected || (expected === 'number' && !Number.isFinite(item))) {
      return `config.tcp.${key}: expected a ${expected}`;
    }
  }
  return undefined;
};

const validateConfig = (value: unknown): Parsed<RecordedHostConfig> => {
  if (!isRecord(value)) return left('config: missing or not an object');
  const unknownField = checkKeys(
    value,
    [
      'mac',
      'ip',
      'prefixLength',
      'gateway',
      'mtu',
      'isnSecret',
      'ephemeralPortStart',
      'tcp',
      'traceSegments',
      'transmitChecksumOffload',
      'congestion',
    ],
    'config',
  );
  if (unknownField) return left(unknownField);
  for (const key of ['mac', 'ip', 'prefixLength'] as const) {
    if (!isFiniteNumber(value[key])) return left(`config.${key}: expected a number`);
  }
  for (const key of ['gateway', 'mtu', 'ephemeralPortStart'] as const) {
    if (value[key] !== undefined && !isFiniteNumber(value[key])) return left(`config.${key}: expected a number`);
  }
  if (!isHex(value['isnSecret'])) return left('config.isnSecret: expected a hex string');
  for (const key of ['traceSegments', 'transmitChecksumOffload'] as const) {
    if (value[key] !== undefined && typeof value[key] !== 'boolean') return left(`config.${key}: expected a boolean`);
  }
  const congestion = value['congestion'];
  if (congestion !== undefined && (typeof congestion !== 'string' || !CONGESTION_ALGORITHMS.includes(congestion))) {
    return left(`config.congestion: expected one of ${CONGESTION_ALGORITHMS.join(', ')}`);
  }
  if (value['tcp'] !== undefined) {
    const tcpProblem = validateTcpConfig(value['tcp']);
    if (tcpProblem) return left(tcpProblem);
  }
  return right(value as unknown as RecordedHostConfig);
};

const sendOptionsProblem = (value: unknown): string | undefined => {
  if (!isRecord(value)) return 'expected send options { urgent }';
  const unknownField = checkKeys(value, ['urgent'], 'send options');
  if (unknownField) return unknownField;
  if (value['urgent'] !== undefined && typeof value['urgent'] !== 'boolean') return 'send options.urgent: expected a boolean';
  return undefined;
};

const isJsonValue = (value: unknown, depth = 0): value is JsonValue => {
  if (depth > 64) return false;
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) return value.every((item) => isJsonValue(item, depth + 1));
  if (isRecord(value)) return Object.values(value).every((item) => isJsonValue(item, depth + 1));
  return false;
};

const validateStep = (value: unknown): Parsed<RecordedStep> => {
  if (!isRecord(value)) return left('not an object');
  const unknownField = checkKeys(value, ['call', 'args', 'outcome'], 'step');
  if (unknownField) return left(unknownField);
  const call = value['call'];
  if (typeof call !== 'string' || !HOST_CALLS.includes(call as HostCall)) {
    return left(`call: expected one of ${HOST_CALLS.join(', ')}`);
  }
  const signature = SIGNATURES[call as HostCall];
  const args = value['args'];
  if (!Array.isArray(args)) return left('args: expected an array');
  const required = signature.filter((kind) => !isTrailing(kind)).length;
  if (args.length < required || args.length > signature.length) {
    const takes = required === signature.length ? `${required}` : `${required} or ${signature.length}`;
    return left(`args: ${call} takes ${takes}, found ${args.length}`);
  }
  for (let i = 0; i < args.length; i++) {
    const kind = signature[i]!;
    const arg: unknown = args[i];
    if (kind === 'trailing-send-options') {
      const problem = sendOptionsProblem(arg);
      if (problem !== undefined) return left(`args[${i}]: ${problem}`);
    }
    // Checks of 0 are written only before a segment size.
    const lowestChecks = args.length > i + 1 ? 0 : 1;
    if (kind === 'trailing-frame-checks' && !(Number.isInteger(arg) && (arg as number) >= lowestChecks)) {
      return left(`args[${i}]: expected device checks as a ${lowestChecks === 0 ? 'non-negative' : 'positive'} integer`);
    }
    if (kind === 'trailing-segment-size' && !(Number.isInteger(arg) && (arg as number) > 0)) {
      return left(`args[${i}]: expected a merged frame's segment size as a positive integer`);
    }
    if (kind === 'bytes' && !isHex(arg)) return left(`args[${i}]: expected hex bytes`);
    if (kind === 'number' && !isFiniteNumber(arg)) return left(`args[${i}]: expected a number`);
    if (kind === 'optional-number' && arg !== null && !isFiniteNumber(arg)) return left(`args[${i}]: expected a number or null`);
  }
  const outcome = value['outcome'];
  if (!isRecord(outcome)) return left('outcome: expected an object');
  const hasReturned = 'returned' in outcome;
  const hasThrew = 'threw' in outcome;
  if (hasReturned === hasThrew || Object.keys(outcome).length !== 1) {
    return left('outcome: expected exactly one of "returned" or "threw"');
  }
  if (hasReturned && !isJsonValue(outcome['returned'])) return left('outcome.returned: not JSON data');
  if (hasThrew) {
    const threw = outcome['threw'];
    if (!isRecord(threw) || typeof threw['name'] !== 'string' || typeof threw['message'] !== 'string') {
      return left('outcome.threw: expected { name, message }');
    }
    if (threw['code'] !== undefined && typeof threw['code'] !== 'string') return left('outcome.threw.code: expected a string');
  }
  return right(value as unknown as RecordedStep);
};

const parseJson = (text: string): Parsed<unknown> => {
  try {
    return right(JSON.parse(text) as unknown);
  } catch (error) {
    return left(`not JSON (${error instanceof Error ? error.message : String(error)})`);
  }
};

const validateHeader = (value: unknown): Parsed<RecordedHostConfig> => {
  if (!isRecord(value)) return left('expected the header object { version, config }');
  if (value['version'] !== RECORDING_VERSION) {
    return left(`version: expected ${RECORDING_VERSION}, found ${JSON.stringify(value['version']) ?? 'none'}`);
  }
  return validateConfig(value['config']);
};

/**
 * Reads a recording written by `serializeRecording` (JSON lines), or the same
 * data as one JSON document `{ version, config, steps }`. Never throws: a bad
 * file gives a `Left` that names the line and the field.
 */
export const parseRecording = (text: string): Either<string, Recording> => {
  const whole = parseJson(text);
  if (whole._tag === 'Right' && isRecord(whole.right) && Array.isArray(whole.right['steps'])) {
    const header = validateHeader(whole.right);
    if (header._tag === 'Left') return header;
    const steps: RecordedStep[] = [];
    const rawSteps: unknown[] = whole.right['steps'];
    for (let i = 0; i < rawSteps.length; i++) {
      const step = validateStep(rawSteps[i]);
      if (step._tag === 'Left') return left(`steps[${i}]: ${step.left}`);
      steps.push(step.right);
    }
    return right({ version: RECORDING_VERSION, config: header.right, steps });
  }

  const lines = text.split('\n');
  while (lines.length > 0 && lines[lines.length - 1]!.trim() === '') lines.pop();
  if (lines.length === 0) return left('empty: expected a header line { version, config }');
  const headerJson = parseJson(lines[0]!);
  if (headerJson._tag === 'Left') return left(`line 1: ${headerJson.left}`);
  const header = validateHeader(headerJson.right);
  if (header._tag === 'Left') return left(`line 1: ${header.left}`);
  const steps: RecordedStep[] = [];
  for (let i = 1; i < lines.length; i++) {
    const json = parseJson(lines[i]!);
    if (json._tag === 'Left') return left(`line ${i + 1}: ${json.left}`);
    const step = validateStep(json.right);
    if (step._tag === 'Left') return left(`line ${i + 1}: ${step.left}`);
    steps.push(step.right);
  }
  return right({ version: RECORDING_VERSION, config: header.right, steps });
};
