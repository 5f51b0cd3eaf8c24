import { type Either, left, right } from 'fp-ts/lib/Either.js';
import { readMac, writeMac } from './addresses.js';
import { allocateBytes, readU16, readU32, writeU16, writeU32 } from './bytes.js';
import { type DecodeError, decodeError } from './decode-error.js';
import { EtherType } from './ethernet.js';

/** ARP operation codes (RFC 826: ar$op). */
export const ArpOperation = {
  Request: 1,
  Reply: 2,
} as const;
export type ArpOperation = (typeof ArpOperation)[keyof typeof ArpOperation];

/** Ethernet hardware type (RFC 826 ar$hrd; IANA ARP parameters). */
const HARDWARE_ETHERNET = 1;
export const ARP_PACKET_LENGTH = 28;

/** An ARP packet mapping IPv4 to Ethernet, the only pairing this stack speaks. */
export interface ArpPacket {
  readonly operation: ArpOperation;
  readonly senderMac: number;
  readonly senderIp: number;
  /** Ignored in requests (usually zero); the requester's MAC in replies. */
  readonly targetMac: number;
  readonly targetIp: number;
}

/** Decodes an ARP packet; bytes after the 28 used (Ethernet padding) are ignored. */
export const decodeArp = (bytes: Uint8Array): Either<DecodeError, ArpPacket> => {
  if (bytes.length < ARP_PACKET_LENGTH) {
    return left(decodeError('arp', 'length', `${bytes.length} bytes is shorter than the 28 of Ethernet/IPv4 ARP`));
  }
  const hardwareType = readU16(bytes, 0);
  if (hardwareType !== HARDWARE_ETHERNET) {
    return left(decodeError('arp', 'hardwareType', `${hardwareType} is not Ethernet (1)`));
  }
  const protocolType = readU16(bytes, 2);
  if (protocolType !== EtherType.IPv4) {
    return left(decodeError('arp', 'protocolType', `0x${protocolType.toString(16).padStart(4, '0')} is not IPv4 (0x0800)`));
  }
  if (bytes[4] !== 6) return left(decodeError('arp', 'hardwareLength', `${bytes[4]} is not 6, the length of a MAC`));
  if (bytes[5] !== 4) return left(decodeError('arp', 'protocolLength', `${bytes[5]} is not 4, the length of an IPv4 address`));
  const operation = readU16(bytes, 6);
  if (operation !== ArpOperation.Request && operation !== ArpOperation.Reply) {
    return left(decodeError('arp', 'operation', `${operation} is neither request (1) nor reply (2)`));
  }
  return right({
    operation,
    senderMac: readMac(bytes, 8),
    senderIp: readU32(bytes, 14),
    targetMac: readMac(bytes, 18),
    targetIp: readU32(bytes, 24),
  });
};

/** Writes the 28-byte packet at `offset`; returns the bytes written. */
export const encodeArpInto = (buffer: Uint8Array, offset: number, packet: ArpPacket): number => {
  writeU16(buffer, offset, HARDWARE_ETHERNET);
  writeU16(buffer, offset + 2, EtherType.IPv4);
  buffer[offset + 4] = 6;
  buffer[offset + 5] = 4;
  writeU16(buffer, offset + 6, packet.operation);
  writeMac(buffer, offset + 8, packet.senderMac);
  writeU32(buffer, offset + 14, packet.senderIp);
  writeMac(buffer, offset + 18, packet.targetMac);
  writeU32(buffer, offset + 24, packet.targetIp);
  return ARP_PACKET_LENGTH;
};

export const encodeArp = (packet: ArpPacket): Uint8Array => {
  const buffer = allocateBytes(ARP_PACKET_LENGTH);
  encodeArpInto(buffer, 0, packet);
  return buffer;
};

/** The reply a host owning `request.targetIp` at `ourMac` sends (RFC 826, "Packet Reception"). */
export const arpReplyFor = (request: ArpPacket, ourMac: number): ArpPacket => ({
  operation: ArpOperation.Reply,
  senderMac: ourMac,
  senderIp: request.targetIp,
  targetMac: request.senderMac,
  targetIp: request.senderIp,
});
