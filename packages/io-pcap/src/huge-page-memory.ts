import type { ReceiveMemory } from '@tcpts/core';
import { loadPacketRing, type PacketRingAddon } from './packet-ring-binding.js';

/** A transparent huge page on x86-64 and most arm64 kernels: what the addon's slabs are. */
export const HUGE_PAGE_BYTES = 2 * 1024 * 1024;

/**
 * Memory for received bytes (`HostConfig.receiveMemory`: reassembly rings and
 * delivery chunks) on huge pages: each piece asked for is cut from a 2 MiB
 * slab of the addon's, so that first touching it costs one page fault per
 * 2 MiB instead of one per 4 KiB. The host copies every byte it delivers into
 * fresh chunks until the application gives them back: copying 10 MB into
 * fresh memory took 6.5 ms in small pages here and 0.8–1.6 in huge ones (a C
 * loop of 7,240-byte copies), and a fresh 10 MB download takes 40–60 ms.
 * Sizes a slab cannot be cut into (not a power of two from 4 KiB to 2 MiB)
 * get plain memory, and so does everything once the addon failed to map a
 * slab.
 */
export function hugePageMemory(addon: Pick<PacketRingAddon, 'hugePageSlab'>): ReceiveMemory {
  const cut = new Map<number, ArrayBuffer[]>();
  let mapping = true;
  return (bytes) => {
    if (!mapping || bytes < 4096 || bytes > HUGE_PAGE_BYTES || (bytes & (bytes - 1)) !== 0) return new Uint8Array(bytes);
    let pieces = cut.get(bytes);
    if (pieces === undefined || pieces.length === 0) {
      try {
        pieces = addon.hugePageSlab(bytes);
      } catch {
        // Out of address space or refused: plain memory works the same, only slower to touch.
        mapping = false;
        return new Uint8Array(bytes);
      }
      cut.set(bytes, pieces);
    }
    return new Uint8Array(pieces.pop()!);
  };
}

/** Huge-page memory when the addon is built; otherwise undefined, the host's plain memory. */
export function defaultReceiveMemory(): ReceiveMemory | undefined {
  try {
    return hugePageMemory(loadPacketRing());
  } catch {
    return undefined;
  }
}
