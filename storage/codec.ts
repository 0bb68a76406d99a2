/**
 * The on-disk format of `LevelStorage`: key layout and value encodings, as pure functions.
 *
 * Owns: the byte layout of every key and value the storage writes. Invariants: every value
 * carries a CRC32 over all of its other bytes, so a torn or rotten value is detected rather than
 * trusted; log keys sort by index (prefix byte + 8-byte big-endian index), so a range read of the
 * log is a range read of the database. Must not touch: the database itself (see `level.ts`).
 *
 * Key layout (one prefix byte per record kind; the database belongs to one storage):
 *
 * | key                          | value                                                         |
 * |------------------------------|---------------------------------------------------------------|
 * | `01`                         | hard state: crc32 · term u64 · commit u64 · hasVote u8 · vote  |
 * | `02`                         | snapshot meta: crc32 · index u64 · term u64 · dataBytes u64 ·  |
 * |                              | chunkCount u32 · dataCrc u32 · voterCount u32 · (len u32 · id)* |
 * | `03` · chunk u32             | snapshot data chunk (raw bytes, covered by `dataCrc`)          |
 * | `04` · index u64             | log entry: crc32 · index u64 · term u64 · data                 |
 *
 * Integers are big-endian; u64 values hold JavaScript safe integers (< 2^53).
 */
import { crc32 } from 'node:zlib'
import { readU64, writeU64 } from './u64.js'
import type { Entry, HardState, SnapshotMeta } from '../lib/consensus/types.js'

const HARD_STATE_PREFIX = 0x01
const SNAPSHOT_META_PREFIX = 0x02
const SNAPSHOT_CHUNK_PREFIX = 0x03
const LOG_PREFIX = 0x04

/** Bytes before an entry's data: crc32 (4), index (8), term (8). */
const ENTRY_HEADER_BYTES = 20

/** The key of the hard state record. */
export const hardStateKey: Buffer = Buffer.from([HARD_STATE_PREFIX])
/** The key of the snapshot meta record. */
export const snapshotMetaKey: Buffer = Buffer.from([SNAPSHOT_META_PREFIX])
/** Lower bound (inclusive) of all snapshot chunk keys. */
export const snapshotChunksStart: Buffer = Buffer.from([SNAPSHOT_CHUNK_PREFIX])
/** Lower bound (inclusive) of all log keys. */
export const logStart: Buffer = Buffer.from([LOG_PREFIX])
/** Upper bound (exclusive) of all log keys. */
export const logEnd: Buffer = Buffer.from([LOG_PREFIX + 1])

/** Seals a value: writes the CRC32 of bytes [4, end) into bytes [0, 4). */
function seal (buf: Buffer): Buffer {
  buf.writeUInt32BE(crc32(buf.subarray(4)), 0)
  return buf
}

/** True when `buf` is long enough to hold a CRC and its CRC verifies. */
function verifies (buf: Buffer, minBytes: number): boolean {
  return buf.length >= minBytes && buf.readUInt32BE(0) === crc32(buf.subarray(4))
}

/** The key of the log entry at `index`; keys sort in index order. */
export function logKey (index: number): Buffer {
  const key = Buffer.allocUnsafe(9)
  key[0] = LOG_PREFIX
  writeU64(key, index, 1)
  return key
}

/** The index a key from the log range stands for, or -1 when it is not a well-formed log key. */
export function logKeyIndex (key: Buffer): number {
  return key.length === 9 ? readU64(key, 1) : -1
}

/** The key of snapshot data chunk number `chunk`. */
export function snapshotChunkKey (chunk: number): Buffer {
  const key = Buffer.allocUnsafe(5)
  key[0] = SNAPSHOT_CHUNK_PREFIX
  key.writeUInt32BE(chunk, 1)
  return key
}

/** Encodes one log entry as a sealed value; copies `entry.data` once and allocates nothing else. */
export function encodeEntry (entry: Entry): Buffer {
  const value = Buffer.allocUnsafe(ENTRY_HEADER_BYTES + entry.data.length)
  writeU64(value, entry.index, 4)
  writeU64(value, entry.term, 12)
  value.set(entry.data, ENTRY_HEADER_BYTES)
  return seal(value)
}

/**
 * Decodes the log value stored under `key`, or returns undefined when it is torn, rotten or
 * stored under the wrong key. The returned `data` is a view into `value`, not a copy.
 */
export function decodeEntry (key: Buffer, value: Buffer): Entry | undefined {
  if (!verifies(value, ENTRY_HEADER_BYTES)) return undefined
  const index = readU64(value, 4)
  if (index !== logKeyIndex(key)) return undefined
  const data = new Uint8Array(value.buffer, value.byteOffset + ENTRY_HEADER_BYTES, value.length - ENTRY_HEADER_BYTES)
  return { index, term: readU64(value, 12), data }
}

/** Encodes the hard state as a sealed value. */
export function encodeHardState (hs: HardState): Buffer {
  const vote = hs.vote === null ? undefined : Buffer.from(hs.vote, 'utf8')
  const value = Buffer.allocUnsafe(21 + (vote?.length ?? 0))
  writeU64(value, hs.term, 4)
  writeU64(value, hs.commit, 12)
  value[20] = vote === undefined ? 0 : 1
  vote?.copy(value, 21)
  return seal(value)
}

/** Decodes a hard state value, or returns undefined when it does not verify. */
export function decodeHardState (value: Buffer): HardState | undefined {
  if (!verifies(value, 21)) return undefined
  const vote = value[20] === 1 ? value.toString('utf8', 21) : null
  return { term: readU64(value, 4), commit: readU64(value, 12), vote }
}

/** A snapshot's meta as stored: the Raft meta plus what is needed to read and verify its data. */
export interface StoredSnapshotMeta {
  readonly meta: SnapshotMeta
  readonly dataBytes: number
  readonly chunkCount: number
  /** CRC32 of the whole data, computed chunk by chunk. */
  readonly dataCrc: number
}

/** Encodes a snapshot meta record as a sealed value. */
export function encodeSnapshotMeta (stored: StoredSnapshotMeta): Buffer {
  const voters = stored.meta.voters.map((id) => Buffer.from(id, 'utf8'))
  const value = Buffer.allocUnsafe(40 + voters.reduce((n, v) => n + 4 + v.length, 0))
  writeU64(value, stored.meta.index, 4)
  writeU64(value, stored.meta.term, 12)
  writeU64(value, stored.dataBytes, 20)
  value.writeUInt32BE(stored.chunkCount, 28)
  value.writeUInt32BE(stored.dataCrc, 32)
  value.writeUInt32BE(voters.length, 36)
  let offset = 40
  for (const voter of voters) {
    value.writeUInt32BE(voter.length, offset)
    voter.copy(value, offset + 4)
    offset += 4 + voter.length
  }
  return seal(value)
}

/** Decodes a snapshot meta value, or returns undefined when it does not verify. */
export function decodeSnapshotMeta (value: Buffer): StoredSnapshotMeta | undefined {
  if (!verifies(value, 40)) return undefined
  const voterCount = value.readUInt32BE(36)
  const voters: string[] = []
  let offset = 40
  for (let i = 0; i < voterCount; i++) {
    // The CRC verified, so lengths are as written; the bound check only guards a format bug.
    if (offset + 4 > value.length) return undefined
    const length = value.readUInt32BE(offset)
    voters.push(value.toString('utf8', offset + 4, offset + 4 + length))
    offset += 4 + length
  }
  return {
    meta: { index: readU64(value, 4), term: readU64(value, 12), voters },
    dataBytes: readU64(value, 20),
    chunkCount: value.readUInt32BE(28),
    dataCrc: value.readUInt32BE(32),
  }
}

/** CRC32 of `data`, continuing from `previous` (0 to start): snapshot data, and a log record written in pieces. */
export function dataCrc (data: Uint8Array, previous: number): number {
  // zlib gives 0 for an empty buffer with no memory behind it, whatever `previous` was.
  return data.length === 0 ? previous : crc32(data, previous)
}
