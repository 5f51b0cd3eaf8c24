import { describe, expect, it } from 'vitest';
import { ExitCode, exitCodeHelp, failureFromSocketError, failureFromStackOpen, ioPcapErrorCode } from './errors.js';

const withCode = (code: string, message = code): Error => Object.assign(new Error(message), { code });

describe('failureFromSocketError', () => {
  it.each([
    ['ECONNREFUSED', 'connect', ExitCode.couldNotConnect],
    ['EHOSTUNREACH', 'connect', ExitCode.couldNotConnect],
    ['ECONNRESET', 'connect', ExitCode.couldNotConnect],
    ['ETIMEDOUT', 'connect', ExitCode.timeout],
    ['ETIMEDOUT', 'transfer', ExitCode.timeout],
    ['ECONNRESET', 'transfer', ExitCode.receiveError],
    ['EPIPE', 'transfer', ExitCode.receiveError],
    ['EWHATEVER', 'transfer', ExitCode.receiveError],
    ['EWHATEVER', 'connect', ExitCode.couldNotConnect],
  ] as const)('%s while %s → %i', (code, phase, expected) => {
    expect(failureFromSocketError(withCode(code), phase, 'h port 80', 0).exitCode).toBe(expected);
  });

  it('says how much arrived before a reset', () => {
    expect(failureFromSocketError(withCode('ECONNRESET'), 'transfer', 'h port 80', 1234).message).toBe(
      'Connection reset by h port 80 while receiving (1234 bytes received)',
    );
  });
});

describe('failureFromStackOpen', () => {
  it.each([
    ['permission-denied', ExitCode.permissionDenied],
    ['no-such-interface', ExitCode.noSuchInterface],
    ['offload', ExitCode.offloadsOn],
    ['unreachable', ExitCode.couldNotConnect],
    ['invalid-address', ExitCode.usage],
    ['pcap', ExitCode.couldNotConnect],
  ] as const)('io-pcap %s → %i', (code, expected) => {
    expect(failureFromStackOpen(withCode(code, 'detail'), 'veth9', ['lo', 'veth9']).exitCode).toBe(expected);
  });

  it('asks for root when the capture is not permitted', () => {
    expect(failureFromStackOpen(withCode('permission-denied'), 'eth1', []).message).toContain(
      'run as root (CAP_NET_RAW is needed to open eth1)',
    );
  });

  it('lists the interfaces that exist', () => {
    expect(failureFromStackOpen(withCode('no-such-interface'), 'eth9', ['eth0', 'lo']).message).toBe(
      'No such interface: eth9 (existing: eth0, lo)',
    );
  });

  it('prints the ethtool command for offloads', () => {
    expect(failureFromStackOpen(withCode('offload', 'GRO merged frames'), 'veth1', []).message).toContain(
      'ethtool -K veth1 tso off gso off gro off lro off',
    );
  });

  it('does not mistake other errors for io-pcap ones', () => {
    expect(ioPcapErrorCode(withCode('ENOENT'))).toBeUndefined();
    expect(ioPcapErrorCode('offload')).toBeUndefined();
    expect(failureFromStackOpen(new Error('boom'), 'x', []).exitCode).toBe(ExitCode.couldNotConnect);
  });
});

describe('exitCodeHelp', () => {
  it('documents every exit code once', () => {
    const documented = exitCodeHelp.map(([code]) => code).sort((a, b) => a - b);
    // Some codes have a meaning per command (1: unsupported protocol for fetch, a difference for replay).
    const defined = [...new Set(Object.values(ExitCode))].sort((a, b) => a - b);
    expect(documented).toEqual(defined);
  });
});
