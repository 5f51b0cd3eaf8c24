import { requireFromPackage } from './package-require.js';

/** The part of npm `cap` (a CommonJS libpcap addon without type declarations) that we use. */
interface CapHandle {
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

interface CapModule {
  readonly Cap: { new (): CapHandle; deviceList(): CapDeviceInfo[] };
}

let loaded: CapModule | undefined;

/** Loads the addon on first use, so that importing this package does not require libpcap. */
function loadCap(): CapModule {
  loaded ??= requireFromPackage('cap') as CapModule;
  return loaded;
}

export function listInterfaces(): CapDeviceInfo[] {
  return loadCap().Cap.deviceList();
}

/**
 * Every addon object ever created stays reachable. Its native destructor frees
 * a libuv poll handle that was stopped but never closed (still linked in the
 * loop's handle list, which corrupts the loop), or, after a failed `open`,
 * stops one that was never started (an assertion abort). Neither may ever run.
 */
const retained: CapHandle[] = [];

/** One open libpcap capture, keeping alive the buffer the addon writes every frame into. */
export class Capture {
  private frameBuffer: Buffer | undefined;

  private constructor(
    private readonly handle: CapHandle,
    frameBuffer: Buffer,
    readonly linkType: string,
  ) {
    this.frameBuffer = frameBuffer;
  }

  /** Throws the addon's own error when libpcap refuses. */
  static open(iface: string, filter: string, kernelBufferSize: number, frameBufferSize = 65_536): Capture {
    const handle = new (loadCap().Cap)();
    retained.push(handle);
    const frameBuffer = Buffer.alloc(frameBufferSize);
    const linkType = handle.open(iface, filter, kernelBufferSize, frameBuffer);
    return new Capture(handle, frameBuffer, linkType);
  }

  /**
   * `listener` gets each frame as a view of the shared buffer, valid only
   * during the call: the addon overwrites it with the next frame.
   */
  onFrame(listener: (view: Uint8Array, truncated: boolean) => void): void {
    this.handle.on('packet', (bytes, truncated) => {
      const buffer = this.frameBuffer;
      // A plain Uint8Array, not a Buffer, whose `slice` would be another view rather than a copy.
      if (buffer !== undefined) listener(new Uint8Array(buffer.buffer, buffer.byteOffset, bytes), truncated);
    });
  }

  send(frame: Uint8Array): void {
    const view = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
    this.handle.send(view, view.length);
  }

  close(): void {
    if (this.frameBuffer === undefined) return;
    this.handle.removeAllListeners('packet');
    this.handle.close();
    this.frameBuffer = undefined;
  }
}
