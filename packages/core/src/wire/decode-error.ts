/** Why a frame could not be decoded. Decoders never throw: they return this in an fp-ts `Left`. */
export interface DecodeError {
  readonly layer: 'ethernet' | 'arp' | 'ipv4' | 'icmp' | 'tcp';
  /** The header field (or `length`, `checksum`) that made the frame unacceptable. */
  readonly field: string;
  readonly reason: string;
}

export const decodeError = (layer: DecodeError['layer'], field: string, reason: string): DecodeError => ({
  layer,
  field,
  reason,
});

export const formatDecodeError = (e: DecodeError): string => `${e.layer}.${e.field}: ${e.reason}`;
