/**
 * Exit codes of `tcpts`. The network ones follow curl's numbering so scripts
 * written against curl read them the same way; 2 and 77–79 are our own.
 */
export const ExitCode = {
  ok: 0,
  unsupportedProtocol: 1,
  /** `tcpts replay`: the replayed host did not do what the recorded one did. */
  replayDiffers: 1,
  usage: 2,
  malformedUrl: 3,
  couldNotResolveHost: 6,
  couldNotConnect: 7,
  weirdServerReply: 8,
  partialTransfer: 18,
  httpError: 22,
  writeError: 23,
  timeout: 28,
  tooManyRedirects: 47,
  emptyReply: 52,
  receiveError: 56,
  permissionDenied: 77,
  noSuchInterface: 78,
  offloadsOn: 79,
  interrupted: 130,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** One line per code, for `--help`. */
export const exitCodeHelp: ReadonlyArray<readonly [ExitCodeValue, string]> = [
  [ExitCode.ok, 'success (also for an unfollowed redirect: its Location is printed)'],
  [ExitCode.unsupportedProtocol, 'unsupported protocol (only http: is spoken); for replay: the run differs from its recording'],
  [ExitCode.usage, 'usage error (bad or missing option; for replay: a file that is not a recording)'],
  [ExitCode.malformedUrl, 'malformed URL'],
  [ExitCode.couldNotResolveHost, 'could not resolve host'],
  [ExitCode.couldNotConnect, 'failed to connect (refused, unreachable, link could not be opened)'],
  [ExitCode.weirdServerReply, 'malformed HTTP response'],
  [ExitCode.partialTransfer, 'partial transfer: the connection closed before the whole body arrived'],
  [ExitCode.httpError, 'HTTP status >= 400, only with -f/--fail'],
  [ExitCode.writeError, 'could not write the output (the body, --trace, --record, diagram -o)'],
  [ExitCode.timeout, 'timed out (--timeout, --max-time, or retransmissions exhausted)'],
  [ExitCode.tooManyRedirects, 'more than 5 redirects with -L'],
  [ExitCode.emptyReply, 'the server closed without sending anything'],
  [ExitCode.receiveError, 'connection reset while receiving'],
  [ExitCode.permissionDenied, 'not permitted to open the interface (run as root / CAP_NET_RAW)'],
  [ExitCode.noSuchInterface, 'no such network interface'],
  [ExitCode.offloadsOn, 'segmentation/receive offloads are on for the interface'],
  [ExitCode.interrupted, 'interrupted (SIGINT/SIGTERM)'],
];

/**
 * A failure the CLI reports as one line on stderr and an exit code. Anything
 * thrown that is not a `CliFailure` is a bug and is reported as such.
 */
export class CliFailure extends Error {
  constructor(
    readonly exitCode: ExitCodeValue,
    message: string,
  ) {
    super(message);
    this.name = 'CliFailure';
  }
}

/** Error codes a connected socket of our stack reports, as Node's net sockets do. */
export type SocketErrorCode = 'ECONNREFUSED' | 'ECONNRESET' | 'ETIMEDOUT' | 'EHOSTUNREACH';

/** Where in the transfer an error happened: the same RST means "refused" before the handshake completes. */
export type TransferPhase = 'connect' | 'transfer';

const errorCodeOf = (error: unknown): string | undefined => {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
};

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** Maps an error from `connect` or from the socket stream to the exit code and line the user sees. */
export const failureFromSocketError = (
  error: unknown,
  phase: TransferPhase,
  destination: string,
  received: number,
): CliFailure => {
  const code = errorCodeOf(error);
  const kept = received > 0 ? ` (${received} bytes received)` : '';
  switch (code) {
    case 'ECONNREFUSED':
      return new CliFailure(ExitCode.couldNotConnect, `Failed to connect to ${destination}: connection refused`);
    case 'EHOSTUNREACH':
      return new CliFailure(ExitCode.couldNotConnect, `Failed to connect to ${destination}: host unreachable`);
    case 'ETIMEDOUT':
      return new CliFailure(
        ExitCode.timeout,
        phase === 'connect'
          ? `Failed to connect to ${destination}: connection timed out`
          : `Connection to ${destination} timed out while receiving${kept}`,
      );
    case 'ECONNRESET':
    case 'EPIPE':
      return phase === 'connect'
        ? new CliFailure(ExitCode.couldNotConnect, `Failed to connect to ${destination}: connection reset`)
        : new CliFailure(ExitCode.receiveError, `Connection reset by ${destination} while receiving${kept}`);
    default:
      return phase === 'connect'
        ? new CliFailure(ExitCode.couldNotConnect, `Failed to connect to ${destination}: ${messageOf(error)}`)
        : new CliFailure(ExitCode.receiveError, `Failure when receiving from ${destination}: ${messageOf(error)}${kept}`);
  }
};

/** Codes of io-pcap's `IoPcapError`. */
export type IoPcapErrorCode = 'no-such-interface' | 'permission-denied' | 'offload' | 'unreachable' | 'invalid-address' | 'pcap';

const ioPcapErrorCodes: ReadonlySet<string> = new Set<IoPcapErrorCode>([
  'no-such-interface',
  'permission-denied',
  'offload',
  'unreachable',
  'invalid-address',
  'pcap',
]);

/** Recognises an io-pcap error by its code, so this module does not need the native addon loaded. */
export const ioPcapErrorCode = (error: unknown): IoPcapErrorCode | undefined => {
  const code = errorCodeOf(error);
  return code !== undefined && ioPcapErrorCodes.has(code) ? (code as IoPcapErrorCode) : undefined;
};

/** The offloads that make a capture see frames the wire never carried (merged or unchecksummed). */
export const offloadCommand = (iface: string): string => `ethtool -K ${iface} tso off gso off gro off lro off tx off rx off`;

/** Maps a failure to open the stack on an interface (io-pcap) to an exit code and line. */
export const failureFromStackOpen = (error: unknown, iface: string, interfaces: readonly string[]): CliFailure => {
  const message = messageOf(error);
  switch (ioPcapErrorCode(error)) {
    case 'permission-denied':
      return permissionDenied(iface);
    case 'no-such-interface':
      return noSuchInterface(iface, interfaces);
    case 'offload':
      return new CliFailure(
        ExitCode.offloadsOn,
        `Offloads are on for ${iface} (${message}); turn them off with: ${offloadCommand(iface)}`,
      );
    case 'unreachable':
      return new CliFailure(ExitCode.couldNotConnect, `Failed to connect: ${message}`);
    case 'invalid-address':
      return new CliFailure(ExitCode.usage, `Invalid address: ${message}`);
    case 'pcap':
      return new CliFailure(ExitCode.couldNotConnect, `Could not open ${iface}: ${message}`);
    case undefined:
      return new CliFailure(ExitCode.couldNotConnect, `Could not open ${iface}: ${message}`);
  }
};

export const permissionDenied = (iface: string): CliFailure =>
  new CliFailure(ExitCode.permissionDenied, `Permission denied: run as root (CAP_NET_RAW is needed to open ${iface})`);

export const noSuchInterface = (iface: string, interfaces: readonly string[]): CliFailure =>
  new CliFailure(
    ExitCode.noSuchInterface,
    `No such interface: ${iface} (existing: ${interfaces.length > 0 ? interfaces.join(', ') : 'none'})`,
  );
