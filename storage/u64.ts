/**
 * Big-endian 64-bit fields holding log indexes and terms. They are JS numbers (safe integers),
 * so both on-disk formats (LevelStorage's values, FileStorage's records) write them as two
 * 32-bit halves rather than through BigInt.
 */
import { assert } from '../lib/assert.js'

const TWO_POW_32 = 0x1_0000_0000

/** Writes non-negative safe integer `n` at `offset` (8 bytes). */
export function writeU64 (buf: Buffer, n: number, offset: number): void {
  assert(Number.isSafeInteger(n) && n >= 0, 'u64 fields hold non-negative safe integers')
  buf.writeUInt32BE(Math.floor(n / TWO_POW_32), offset)
  buf.writeUInt32BE(n >>> 0, offset + 4)
}

/** Reads what {@link writeU64} wrote at `offset`. */
export function readU64 (buf: Buffer, offset: number): number {
  return buf.readUInt32BE(offset) * TWO_POW_32 + buf.readUInt32BE(offset + 4)
}
