/**
 * Where the znode store keeps data bytes: appended to large shared chunks and addressed by
 * (chunk, offset, length), instead of one JS string per znode. A string costs a 16-byte header
 * and an 8-byte pointer beyond its bytes, and a million of them are a million objects for the
 * garbage collector to copy and trace; decoding a snapshot allocated them one by one.
 *
 * Append-only: bytes once written never change, so a reader holding a position (a frozen view
 * being encoded, a multi's undo) always reads what was there. Replaced and removed data is
 * counted as garbage; once it outweighs the live bytes ({@link DataArena.wantsCompaction}) the
 * owner copies the live bytes into a fresh arena, leaving the old chunks to whoever still
 * holds a view of them.
 */

import { assert } from '../assert.js'

/** Bytes of a chunk; larger values get a chunk of their own size. */
const CHUNK_BYTES = 1 << 20
/** Copies up to this many bytes by a loop: cheaper than a call into TypedArray#set. */
const LOOP_COPY_BYTES = 128
/** Garbage below this is never worth a compaction. */
const MIN_GARBAGE_BYTES = 8 << 20

/** Append-only chunks of data bytes. See the module comment. */
export class DataArena {
  readonly #chunks: Buffer[] = []
  /** Bytes used in the last chunk. */
  #fill = 0
  #live = 0
  #garbage = 0
  /** The chunk index of the last {@link append}. */
  lastChunk = 0

  /** Bytes of replaced or removed data not yet reclaimed. */
  get garbageBytes (): number {
    return this.#garbage
  }

  /** Bytes held for live data. */
  get liveBytes (): number {
    return this.#live
  }

  /**
   * Copies `bytes` in and returns their offset; their chunk is then in {@link lastChunk}.
   * Empty data takes no room (chunk 0, offset 0).
   */
  append (bytes: Uint8Array): number {
    const n = bytes.length
    if (n === 0) {
      this.lastChunk = 0
      return 0
    }
    let chunk = this.#chunks.length - 1
    if (chunk < 0 || this.#fill + n > this.#chunks[chunk]!.length) {
      this.#chunks.push(Buffer.allocUnsafeSlow(Math.max(CHUNK_BYTES, n)))
      this.#fill = 0
      chunk++
    }
    const target = this.#chunks[chunk]!
    const offset = this.#fill
    if (n <= LOOP_COPY_BYTES) for (let i = 0; i < n; i++) target[offset + i] = bytes[i]!
    else target.set(bytes, offset)
    this.#fill = offset + n
    this.#live += n
    this.lastChunk = chunk
    return offset
  }

  /**
   * Takes `bytes` as a chunk of their own, not copied (the data of a whole snapshot, read
   * straight into them), and returns that chunk's index; the caller knows where each value
   * lies within it, and never changes them once a reader may hold a view. Later appends go to
   * a fresh chunk.
   */
  adopt (bytes: Buffer): number {
    this.#chunks.push(bytes)
    this.#fill = bytes.length
    this.#live += bytes.length
    return this.#chunks.length - 1
  }

  /** Copies the bytes at a position to `target` at `at`. */
  copyOut (chunk: number, offset: number, length: number, target: Uint8Array, at: number): void {
    if (length === 0) return
    const source = this.#chunks[chunk]!
    if (length <= LOOP_COPY_BYTES) for (let i = 0; i < length; i++) target[at + i] = source[offset + i]!
    else target.set(source.subarray(offset, offset + length), at)
  }

  /** The bytes at a position, as a view into the arena (never to be written). */
  view (chunk: number, offset: number, length: number): Buffer {
    if (length === 0) return EMPTY
    return this.#chunks[chunk]!.subarray(offset, offset + length)
  }

  /** Marks `length` bytes garbage (their data was replaced or removed). */
  release (length: number): void {
    this.#live -= length
    this.#garbage += length
    assert(this.#live >= 0, 'no more bytes released than appended')
  }

  /** True when garbage outweighs the live bytes (and is worth a rewrite). */
  wantsCompaction (): boolean {
    return this.#garbage >= MIN_GARBAGE_BYTES && this.#garbage > this.#live
  }
}

const EMPTY = Buffer.alloc(0)
