import { describe, expect, it } from 'vitest';
import { initialTransition, transition } from 'xstate';
import { type TcpMachineEvent, type TcpState, tcpMachine } from './machine.js';

const run = (events: TcpMachineEvent['type'][], foreignSocketKnown = true) => {
  let [snapshot] = initialTransition(tcpMachine, { foreignSocketKnown });
  const actions: string[] = [];
  for (const type of events) {
    const [next, acts] = transition(tcpMachine, snapshot, { type } as TcpMachineEvent);
    snapshot = next;
    actions.push(...acts.map((a) => a.type).filter((t) => !t.startsWith('xstate.')));
  }
  return { state: snapshot.value as TcpState, actions };
};

describe('the RFC 9293 state machine', () => {
  it('follows the active open and close of Figure 5', () => {
    expect(run(['OPEN_ACTIVE'])).toEqual({ state: 'SYN-SENT', actions: ['sendSyn'] });
    expect(run(['OPEN_ACTIVE', 'RCV_SYN_ACK']).state).toBe('ESTABLISHED');
    expect(run(['OPEN_ACTIVE', 'RCV_SYN_ACK', 'CLOSE', 'RCV_ACK_OF_FIN', 'RCV_FIN'])).toEqual({
      state: 'TIME-WAIT',
      actions: ['sendSyn', 'sendAck', 'signalEstablished', 'queueFin', 'sendAck', 'signalPeerClosed', 'startTimeWait'],
    });
    expect(run(['OPEN_ACTIVE', 'RCV_SYN_ACK', 'CLOSE', 'RCV_ACK_OF_FIN', 'RCV_FIN', 'TIMEOUT_2MSL']).state).toBe('CLOSED');
  });

  it('follows the passive open and the close from CLOSE-WAIT', () => {
    expect(run(['OPEN_PASSIVE', 'RCV_SYN', 'RCV_ACK_OF_SYN', 'RCV_FIN', 'CLOSE']).state).toBe('LAST-ACK');
    expect(run(['OPEN_PASSIVE', 'RCV_SYN', 'RCV_ACK_OF_SYN', 'RCV_FIN', 'CLOSE', 'RCV_ACK_OF_FIN']).state).toBe('CLOSED');
  });

  it('returns a passively opened connection to LISTEN on a reset in SYN-RECEIVED, an active one to CLOSED', () => {
    expect(run(['OPEN_PASSIVE', 'RCV_SYN', 'RCV_RST']).state).toBe('LISTEN');
    expect(run(['OPEN_ACTIVE', 'RCV_SYN', 'RCV_RST'])).toEqual({
      state: 'CLOSED',
      actions: ['sendSyn', 'sendSynAck', 'signalRefused', 'deleteTcb'],
    });
  });

  it('has simultaneous open and simultaneous close', () => {
    expect(run(['OPEN_ACTIVE', 'RCV_SYN', 'RCV_ACK_OF_SYN']).state).toBe('ESTABLISHED');
    expect(run(['OPEN_ACTIVE', 'RCV_SYN_ACK', 'CLOSE', 'RCV_FIN', 'RCV_ACK_OF_FIN']).state).toBe('TIME-WAIT');
  });

  it('ignores events that are not arcs of the current state', () => {
    expect(run(['RCV_FIN', 'RCV_ACK_OF_FIN', 'TIMEOUT_2MSL'])).toEqual({ state: 'CLOSED', actions: [] });
    expect(run(['OPEN_PASSIVE', 'SEND'], false).state).toBe('LISTEN');
    expect(run(['OPEN_PASSIVE', 'SEND'], true).state).toBe('SYN-SENT');
  });
});
