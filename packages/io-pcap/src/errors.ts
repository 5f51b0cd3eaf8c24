/** Why the stack could not use the network; `code` lets callers react without parsing messages. */
export type IoPcapErrorCode =
  | 'no-such-interface'
  | 'permission-denied'
  | 'offload'
  | 'unreachable'
  | 'invalid-address'
  | 'pcap';

export class IoPcapError extends Error {
  constructor(
    readonly code: IoPcapErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'IoPcapError';
  }
}

/** Error codes a TCP stream fails with, as Node's `net` module names them. */
export type ConnectionErrorCode = 'ECONNREFUSED' | 'ECONNRESET' | 'ETIMEDOUT' | 'EHOSTUNREACH';

/** An `Error` with a Node-style `code`, so code written for `net.Socket` keeps working. */
export class ConnectionFailure extends Error {
  constructor(
    readonly code: ConnectionErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ConnectionFailure';
  }
}
