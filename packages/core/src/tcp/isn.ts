/**
 * Initial sequence numbers per RFC 6528 §3: ISN = M + F(localip, localport,
 * remoteip, remoteport, secretkey), where M is a timer ticking every 4
 * microseconds and F a keyed PRF of the connection's 4-tuple, here the low 32
 * bits of SipHash-2-4. F hides the numbers other connections use (against
 * off-path sequence guessing); M keeps successive incarnations of one 4-tuple
 * moving forward (RFC 9293 §3.4.1).
 */
import { sipHash24Low32 } from './siphash.js';

/** localIp, localPort, remoteIp, remotePort, big-endian as on the wire: 12 bytes. */
const tuple = new Uint8Array(12);

const writeTuple = (localIp: number, localPort: number, remoteIp: number, remotePort: number): Uint8Array => {
  tuple[0] = localIp >>> 24;
  tuple[1] = localIp >>> 16;
  tuple[2] = localIp >>> 8;
  tuple[3] = localIp;
  tuple[4] = localPort >>> 8;
  tuple[5] = localPort;
  tuple[6] = remoteIp >>> 24;
  tuple[7] = remoteIp >>> 16;
  tuple[8] = remoteIp >>> 8;
  tuple[9] = remoteIp;
  tuple[10] = remotePort >>> 8;
  tuple[11] = remotePort;
  return tuple;
};

/** F of RFC 6528: the secret-keyed hash of the 4-tuple, an unsigned 32-bit value. */
export function connectionHash(
  secret: Uint8Array,
  localIp: number,
  localPort: number,
  remoteIp: number,
  remotePort: number,
): number {
  return sipHash24Low32(secret, writeTuple(localIp, localPort, remoteIp, remotePort));
}

/** M of RFC 6528: `now` (ms) in 4-microsecond ticks, modulo 2^32. */
export const isnClock = (now: number): number => Math.floor(now * 250) >>> 0;

/**
 * The ISN for a new connection on this 4-tuple at time `now` (milliseconds),
 * with a 16-byte `secret` (RFC 6528 §3: chosen at boot, kept secret).
 */
export function initialSequenceNumber(
  secret: Uint8Array,
  localIp: number,
  localPort: number,
  remoteIp: number,
  remotePort: number,
  now: number,
): number {
  return (isnClock(now) + connectionHash(secret, localIp, localPort, remoteIp, remotePort)) >>> 0;
}
