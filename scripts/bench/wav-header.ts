/**
 * A 44-byte PCM WAV header for `size` bytes of samples (16-bit stereo, 48 kHz): the benchmarks and tests put it in
 * front of generated noise so that the archive's type detection sees audio/wav, which oral-history items accept.
 */
export function wavHeader(size: number): Buffer {
  const h = Buffer.alloc(44);
  h.write('RIFF', 0);
  h.writeUInt32LE((36 + size) >>> 0, 4);
  h.write('WAVEfmt ', 8);
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(2, 22);
  h.writeUInt32LE(48000, 24);
  h.writeUInt32LE(192000, 28);
  h.writeUInt16LE(4, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36);
  h.writeUInt32LE(size >>> 0, 40);
  return h;
}
