/**
 * The record format of `FileStorage`'s write-ahead log, as pure functions over buffers.
 *
 * Owns: the byte layout of a log record and the verdict on bytes read back (a record, the
 * clean end of a segment, or damage). Must not touch: files (see `wal-segments.ts`).
 *
 * A record is `crc32 u32 · length u32 · kind u8 · body`, where `length` counts `kind` and `body`
 * and the CRC covers everything after itself (length included, so a torn or rotten length is
 * caught like a torn body) in one pass. Integers are big-endian; u64 values hold JavaScript safe integers.
 *
 * | kind | body                                              | meaning on replay                      |
 * |------|---------------------------------------------------|----------------------------------------|
 * | 1    | index u64 · term u64 · data                       | log entry; replaces any entry >= index |
 * | 2    | term u64 · commit u64 · hasVote u8 · vote (utf8)  | hard state; the last one read wins     |
 * | 3    | index u64                                         | floor: entries <= index are compacted  |
 * | 4    | index u64 · term u64                              | reset: the log is empty after a        |
 * |      |                                                   | snapshot at (index, term)              |
 * | 5    | records of the kinds above, back to back          | batch: applies whole or not at all     |
 *
 * Every group commit is written as one batch record, so a write torn by a crash is dropped
 * whole: a hard state is never recovered without the entries written with it, nor entries
 * without their hard state. The records inside a batch keep their own CRC, so one can be read
 * back alone by its position.
 *
 * Bytes never written read as zeros (past the end of a file, or a region of zeros), so a
 * length of zero followed only by zeros is the clean end of what was written; anything else
 * that does not verify is damage.
 */
import { crc32 } from 'node:zlib'
import { dataCrc } from './codec.js'
import { assert } from '../lib/assert.js'
import { readU64, writeU64 } from './u64.js'
import type { Entry, HardState } from '../lib/consensus/types.js'

/** Bytes before a record's kind: CRC (4) and length (4). */
export const RECORD_HEADER_BYTES = 8

const KIND_ENTRY = 1
const KIND_HARD_STATE = 2
const KIND_FLOOR = 3
const KIND_RESET = 4
const KIND_BATCH = 5
/** Bytes before a batch's records: CRC, length and kind. */
export const BATCH_HEADER_BYTES = RECORD_HEADER_BYTES + 1
/** A record body is at most this long: guards replay against a rotten length field. */
const MAX_RECORD_BYTES = 0x7fff_ffff

/** One decoded log record. An entry's `data` is a view into the bytes read, not a copy. */
export type WalRecord =
  | { readonly kind: 'entry', readonly entry: Entry }
  | { readonly kind: 'hardState', readonly hardState: HardState }
  | { readonly kind: 'floor', readonly index: number }
  | { readonly kind: 'reset', readonly index: number, readonly term: number }

/** What {@link readRecord} found at an offset. */
export type ReadResult =
  | { readonly kind: 'record', readonly record: WalRecord, readonly bytes: number }
  | { readonly kind: 'batch', readonly bytes: number }
  | { readonly kind: 'end' }
  | { readonly kind: 'damage', readonly reason: string }

function recordCrc (buf: Buffer, start: number, end: number): number {
  return crc32(buf.subarray(start + 4, end))
}

/**
 * A record buffer of `bodyBytes` after the kind byte, with length and kind filled in; with
 * `heldBytes`, only that much of the body is in the buffer (the rest is written after it).
 */
function allocRecord (kind: number, bodyBytes: number, heldBytes = bodyBytes): Buffer {
  const buf = Buffer.allocUnsafe(RECORD_HEADER_BYTES + 1 + heldBytes)
  buf.writeUInt32BE(1 + bodyBytes, 4)
  buf[RECORD_HEADER_BYTES] = kind
  return buf
}

function seal (buf: Buffer): Buffer {
  buf.writeUInt32BE(recordCrc(buf, 0, buf.length), 0)
  return buf
}

/**
 * Encodes a log entry record as two pieces to be written back to back: its header, and a view
 * of `entry.data` (not copied: a multi's entry is tens of KB, and copying each one into a
 * record of its own cost a fresh buffer per entry that the allocator then kept). `entry.data`
 * must not change until the pieces are written.
 */
export function encodeEntryRecord (entry: Entry): readonly [Buffer, Buffer] {
  const head = allocRecord(KIND_ENTRY, 16 + entry.data.length, 16)
  writeU64(head, entry.index, 9)
  writeU64(head, entry.term, 17)
  const data = Buffer.from(entry.data.buffer, entry.data.byteOffset, entry.data.byteLength)
  head.writeUInt32BE(dataCrc(data, crc32(head.subarray(4))), 0)
  return [head, data]
}

/** Encodes a hard state record. */
export function encodeHardStateRecord (hs: HardState): Buffer {
  const vote = hs.vote === null ? undefined : Buffer.from(hs.vote, 'utf8')
  const buf = allocRecord(KIND_HARD_STATE, 17 + (vote?.length ?? 0))
  writeU64(buf, hs.term, 9)
  writeU64(buf, hs.commit, 17)
  buf[25] = vote === undefined ? 0 : 1
  vote?.copy(buf, 26)
  return seal(buf)
}

/** Encodes a floor record: entries at or below `index` are compacted away. */
export function encodeFloorRecord (index: number): Buffer {
  const buf = allocRecord(KIND_FLOOR, 8)
  writeU64(buf, index, 9)
  return seal(buf)
}

/** Encodes a reset record: the log is empty, based on a snapshot at (`index`, `term`). */
export function encodeResetRecord (index: number, term: number): Buffer {
  const buf = allocRecord(KIND_RESET, 16)
  writeU64(buf, index, 9)
  writeU64(buf, term, 17)
  return seal(buf)
}

/**
 * The header of a batch record holding `records`, which follow it unchanged: one pass of CRC32
 * over them, no copy.
 */
export function encodeBatchHeader (records: readonly Buffer[]): Buffer {
  let bytes = 1
  for (const r of records) bytes += r.length
  assert(bytes <= MAX_RECORD_BYTES, 'a batch fits one record')
  const header = Buffer.allocUnsafe(BATCH_HEADER_BYTES)
  header.writeUInt32BE(bytes, 4)
  header[RECORD_HEADER_BYTES] = KIND_BATCH
  let crc = crc32(header.subarray(4))
  for (const r of records) crc = dataCrc(r, crc)
  header.writeUInt32BE(crc, 0)
  return header
}

/** True when every byte of `buf` from `from` on is zero (never written). */
export function allZero (buf: Buffer, from: number): boolean {
  for (let i = from; i < buf.length; i++) if (buf[i] !== 0) return false
  return true
}

/**
 * Reads the record at `offset` of a segment's bytes; see the module comment for the verdicts.
 * A batch is reported with its size only: its records start `BATCH_HEADER_BYTES` further on.
 * `verified`: the bytes were already checked by the enclosing batch's CRC; skip the record's own.
 */
export function readRecord (buf: Buffer, offset: number, verified = false): ReadResult {
  const left = buf.length - offset
  if (left === 0) return { kind: 'end' }
  if (left < RECORD_HEADER_BYTES) return allZero(buf, offset) ? { kind: 'end' } : { kind: 'damage', reason: 'short header' }
  const length = buf.readUInt32BE(offset + 4)
  if (length === 0) return allZero(buf, offset) ? { kind: 'end' } : { kind: 'damage', reason: 'zero length before written bytes' }
  if (length > MAX_RECORD_BYTES || length > left - RECORD_HEADER_BYTES) return { kind: 'damage', reason: 'length past the end' }
  const end = offset + RECORD_HEADER_BYTES + length
  if (!verified && buf.readUInt32BE(offset) !== recordCrc(buf, offset, end)) return { kind: 'damage', reason: 'checksum' }
  if (buf[offset + RECORD_HEADER_BYTES] === KIND_BATCH) return { kind: 'batch', bytes: end - offset }
  const record = decodeBody(buf, offset + RECORD_HEADER_BYTES, end)
  if (record === undefined) return { kind: 'damage', reason: 'unknown record' }
  return { kind: 'record', record, bytes: end - offset }
}

/** Decodes a verified body (kind byte at `start`); undefined for a kind or size this format lacks. */
function decodeBody (buf: Buffer, start: number, end: number): WalRecord | undefined {
  const size = end - start - 1
  switch (buf[start]) {
    case KIND_ENTRY:
      if (size < 16) return undefined
      return {
        kind: 'entry',
        entry: {
          index: readU64(buf, start + 1),
          term: readU64(buf, start + 9),
          data: new Uint8Array(buf.buffer, buf.byteOffset + start + 17, size - 16),
        },
      }
    case KIND_HARD_STATE:
      if (size < 17) return undefined
      return {
        kind: 'hardState',
        hardState: {
          term: readU64(buf, start + 1),
          commit: readU64(buf, start + 9),
          vote: buf[start + 17] === 1 ? buf.toString('utf8', start + 18, end) : null,
        },
      }
    case KIND_FLOOR:
      return size === 8 ? { kind: 'floor', index: readU64(buf, start + 1) } : undefined
    case KIND_RESET:
      return size === 16 ? { kind: 'reset', index: readU64(buf, start + 1), term: readU64(buf, start + 9) } : undefined
    default:
      return undefined
  }
}
