import { afterEach, describe, expect, it, vi } from 'vitest';
import { PacketRingDevice } from './packet-ring-device.js';
import { resolveCapture } from './realtime-driver.js';

// `auto` is the CLI's default capture. It needs no socket to decide, so this runs as any user.
describe('the capture `auto` chooses', () => {
  afterEach(() => vi.restoreAllMocks());

  it('is the packet ring here, where `pnpm build` has built its addon', () => {
    expect(PacketRingDevice.available()).toBe(true);
    expect(resolveCapture('auto')).toBe('packet-ring');
  });

  it('is libpcap where the addon does not load', () => {
    vi.spyOn(PacketRingDevice, 'available').mockReturnValue(false);
    expect(resolveCapture('auto')).toBe('libpcap');
  });

  it('leaves an explicit choice as it is', () => {
    vi.spyOn(PacketRingDevice, 'available').mockReturnValue(false);
    expect(resolveCapture('packet-ring')).toBe('packet-ring');
    expect(resolveCapture('libpcap')).toBe('libpcap');
  });
});
