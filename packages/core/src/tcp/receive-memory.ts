/**
 * A source of memory for received bytes: the reassembly ring of each
 * connection and the host's delivery chunks. `bytes` of it, as the whole of an
 * ArrayBuffer of its own (the delivery pool tells its chunks apart by their
 * buffers); its content does not matter, as it is written before it is read.
 *
 * Core's own is plain `Uint8Array`s. An I/O adapter may give memory that is
 * cheaper to touch the first time (io-pcap's huge pages): which memory holds
 * the bytes changes nothing the stack does.
 */
export type ReceiveMemory = (bytes: number) => Uint8Array;

export const plainMemory: ReceiveMemory = (bytes) => new Uint8Array(bytes);
