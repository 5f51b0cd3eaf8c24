import { createRequire } from 'node:module';

/** The part of npm `cap` (a CommonJS libpcap addon without type declarations) that we use. */
export interface CapHandle {
  /** Opens `device` promiscuously with a BPF `filter`; returns the link type, e.g. `ETHERNET`. */
  open(device: string, filter: string, kernelBufferSize: number, frameBuffer: Buffer): string;
  close(): void;
  send(frame: Buffer, length?: number): void;
  on(event: 'packet', listener: (bytes: number, truncated: boolean) => void): void;
  removeAllListeners(event?: string): void;
}

export interface CapDeviceInfo {
  readonly name: string;
  readonly description?: string;
  readonly addresses: readonly { readonly addr: string }[];
}

export interface CapModule {
  readonly Cap: { new (): CapHandle; deviceList(): CapDeviceInfo[] };
}

let loaded: CapModule | undefined;

/** Loads the addon on first use, so that importing this package does not require libpcap. */
export function loadCap(): CapModule {
  loaded ??= createRequire(import.meta.url)('cap') as CapModule;
  return loaded;
}
