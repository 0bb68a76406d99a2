/**
 * Jute, ZooKeeper's record serialization (`BinaryInputArchive` / `BinaryOutputArchive`):
 * big-endian `int` (4 bytes) and `long` (8 bytes), `boolean` as one byte, `buffer` and `ustring`
 * as an int length (−1 = null) then the bytes (UTF-8 for ustring), `vector<T>` as an int count
 * (−1 = null) then the items, and a record as its fields in declaration order with no framing.
 *
 * Owns only byte-level encoding. The reader never reads past its buffer or trusts a length: every
 * read checks what remains and throws {@link JuteError}, which the server turns into a closed
 * connection (as ZooKeeper does on a marshalling error). It never touches sockets or sessions.
 */

/** A malformed or truncated jute record. */
export class JuteError extends Error {
  override readonly name = 'JuteError'
}

/** Bounds of a {@link JuteReader}. */
export interface JuteReaderOptions {
  /**
   * Largest buffer or string field accepted, in bytes (ZooKeeper caps each at `jute.maxbuffer`
   * plus extrasize). Default: whatever remains in the buffer.
   */
  readonly maxFieldBytes?: number
  /** Largest vector count accepted. Default: the bytes remaining (each item takes at least one). */
  readonly maxVectorItems?: number
}

/** Reads jute fields from one buffer, front to back, with bounds checks. */
export class JuteReader {
  #offset: number
  readonly #end: number

  /** Reads `buf[start, end)`. */
  constructor (private readonly buf: Buffer, private readonly opts: JuteReaderOptions = {}, start = 0, end = buf.length) {
    if (start < 0 || end > buf.length || start > end) throw new RangeError('jute reader bounds outside the buffer')
    this.#offset = start
    this.#end = end
  }

  /** Bytes not yet read. */
  get remaining (): number {
    return this.#end - this.#offset
  }

  /** The read position, for error messages. */
  get offset (): number {
    return this.#offset
  }

  /** A reader over `[start, end)` of the same buffer, with the same limits (e.g. one op of a multi). */
  sub (start: number, end: number): JuteReader {
    return new JuteReader(this.buf, this.opts, start, end)
  }

  #need (n: number, what: string): void {
    if (n > this.remaining) throw new JuteError(`truncated ${what}: needs ${n} bytes at offset ${this.#offset}, ${this.remaining} left`)
  }

  /** A signed 32-bit int. */
  int (): number {
    this.#need(4, 'int')
    const v = this.buf.readInt32BE(this.#offset)
    this.#offset += 4
    return v
  }

  /** A signed 64-bit long. */
  long (): bigint {
    this.#need(8, 'long')
    const v = this.buf.readBigInt64BE(this.#offset)
    this.#offset += 8
    return v
  }

  /** A long that must fit a JS number exactly (zxids, times, ttls). */
  safeLong (what = 'long'): number {
    const v = this.long()
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) throw new JuteError(`${what} ${v} is out of range`)
    return Number(v)
  }

  /** A boolean: one byte, any non-zero value is true (Java's readBoolean). */
  boolean (): boolean {
    this.#need(1, 'boolean')
    const v = this.buf[this.#offset] !== 0
    this.#offset += 1
    return v
  }

  #length (what: string, max: number | undefined): number {
    const n = this.int()
    if (n < -1) throw new JuteError(`negative ${what} length ${n}`)
    if (n === -1) return -1
    if (max !== undefined && n > max) throw new JuteError(`${what} of ${n} bytes exceeds the limit of ${max}`)
    this.#need(n, what)
    return n
  }

  /** A buffer; null when the length is −1. The result is a copy, safe to keep. */
  bufferOrNull (): Buffer | null {
    const n = this.#length('buffer', this.opts.maxFieldBytes)
    if (n === -1) return null
    const v = Buffer.from(this.buf.subarray(this.#offset, this.#offset + n))
    this.#offset += n
    return v
  }

  /** A buffer, null read as empty (how ZooKeeper treats a null data field). */
  buffer (): Buffer {
    return this.bufferOrNull() ?? Buffer.alloc(0)
  }

  /** A UTF-8 string; null when the length is −1. */
  ustringOrNull (): string | null {
    const n = this.#length('ustring', this.opts.maxFieldBytes)
    if (n === -1) return null
    const v = this.buf.toString('utf8', this.#offset, this.#offset + n)
    this.#offset += n
    return v
  }

  /** A UTF-8 string that must not be null. */
  ustring (what = 'ustring'): string {
    const v = this.ustringOrNull()
    if (v === null) throw new JuteError(`${what} must not be null`)
    return v
  }

  /** A vector of items read by `item`; null read as empty (ZooKeeper treats them alike). */
  vector<T> (item: (r: JuteReader) => T): T[] {
    const n = this.int()
    if (n < -1) throw new JuteError(`negative vector count ${n}`)
    if (n === -1) return []
    const max = this.opts.maxVectorItems ?? this.remaining
    if (n > max) throw new JuteError(`vector of ${n} items exceeds the limit of ${max}`)
    const out: T[] = []
    for (let i = 0; i < n; i++) out.push(item(this))
    return out
  }
}

/** Builds one jute record (or a sequence of them) into a growing buffer. */
export class JuteWriter {
  #buf: Buffer
  #length = 0

  constructor (initialBytes = 256) {
    this.#buf = Buffer.allocUnsafe(initialBytes)
  }

  /** Bytes written so far. */
  get length (): number {
    return this.#length
  }

  #reserve (n: number): number {
    const at = this.#length
    if (at + n > this.#buf.length) {
      const next = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, at + n))
      this.#buf.copy(next, 0, 0, at)
      this.#buf = next
    }
    this.#length += n
    return at
  }

  /** A signed 32-bit int (the value must fit). */
  int (v: number): this {
    const at = this.#reserve(4) // reserve first: it may replace #buf
    this.#buf.writeInt32BE(v, at)
    return this
  }

  /** A signed 64-bit long; numbers must be safe integers, bigints are wrapped to 64 bits. */
  long (v: number | bigint): this {
    const big = typeof v === 'bigint' ? BigInt.asIntN(64, v) : BigInt(v)
    const at = this.#reserve(8)
    this.#buf.writeBigInt64BE(big, at)
    return this
  }

  /** A boolean as one byte. */
  boolean (v: boolean): this {
    const at = this.#reserve(1)
    this.#buf[at] = v ? 1 : 0
    return this
  }

  /** A buffer; null writes length −1. */
  buffer (v: Uint8Array | null): this {
    if (v === null) return this.int(-1)
    this.int(v.length)
    const at = this.#reserve(v.length)
    this.#buf.set(v, at)
    return this
  }

  /** A UTF-8 string; null writes length −1. */
  ustring (v: string | null): this {
    if (v === null) return this.int(-1)
    const n = Buffer.byteLength(v, 'utf8')
    this.int(n)
    const at = this.#reserve(n)
    this.#buf.write(v, at, n, 'utf8')
    return this
  }

  /** A vector: its count, then each item written by `item`. */
  vector<T> (items: readonly T[], item: (w: JuteWriter, v: T) => void): this {
    this.int(items.length)
    for (const v of items) item(this, v)
    return this
  }

  /** Raw bytes, for a pre-encoded record. */
  raw (v: Uint8Array): this {
    const at = this.#reserve(v.length)
    this.#buf.set(v, at)
    return this
  }

  /** The bytes written (a view; do not write more after taking it). */
  bytes (): Buffer {
    return this.#buf.subarray(0, this.#length)
  }

  /**
   * The bytes written, preceded by their length as an int: one frame of ZooKeeper's client
   * protocol.
   */
  frame (): Buffer {
    const out = Buffer.allocUnsafe(4 + this.#length)
    out.writeInt32BE(this.#length, 0)
    this.#buf.copy(out, 4, 0, this.#length)
    return out
  }
}
