import { initialTransition, transition } from 'xstate';
import { type TcpMachineEvent, tcpMachine } from '../tcp/machine.js';

/**
 * Machine events per second through XState's pure `transition()`: a whole
 * connection's life (open, establish, close both ways, TIME-WAIT) per loop.
 */
export function benchMachineEvents(durationMs = 1000): { eventsPerSecond: number; events: number } {
  const life: TcpMachineEvent[] = [
    { type: 'OPEN_ACTIVE' },
    { type: 'RCV_SYN_ACK' },
    { type: 'CLOSE' },
    { type: 'RCV_ACK_OF_FIN' },
    { type: 'RCV_FIN' },
    { type: 'TIMEOUT_2MSL' },
  ];
  const [initial] = initialTransition(tcpMachine, { foreignSocketKnown: true });
  let events = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < durationMs) {
    for (let round = 0; round < 100; round++) {
      let snapshot = initial;
      for (const event of life) [snapshot] = transition(tcpMachine, snapshot, event);
      if (snapshot.value !== 'CLOSED') throw new Error(`life ended in ${String(snapshot.value)}`);
      events += life.length;
    }
    elapsed = performance.now() - start;
  }
  return { eventsPerSecond: (events / elapsed) * 1000, events };
}
