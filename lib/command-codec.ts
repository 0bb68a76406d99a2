/**
 * The binary layout of commands in log entries. Hand-rolled rather than msgpack because every
 * write is encoded once and decoded on every peer: a bound on the size is computed first, the
 * output is carved from a shared slab, and decoding builds only the objects apply needs.
 *
 * Layout after the 8-byte time header (see commands.ts): one tag byte, then
 * - open:  str origin, str nonce, u32 timeoutMs, bytes password
 * - attach: u64 sid, str origin, str nonce, bytes password
 * - close: u64 sid, u8 expired, u32 epoch
 * - write: u64 sid, f64 seq, u16 n + n × (str scheme, str id), u8 multi, u16 n + n × op
 * - reap:  str path
 * and each op: u8 kind, str path, then
 * - create: bytes data, acl, u8 mode, f64 ttlMs (−1: none)
 * - delete, check: i32 version
 * - setData: bytes data, i32 version
 * - setACL: acl, i32 version
 * where str and bytes are a u32 length then the bytes (strings UTF-8), and an acl is
 * u16 n + n × (u32 perms, str scheme, str id). Integers are big-endian.
 */
import { assert } from './assert.js'
import type { ACL, CreateModeValue, Id, WriteOp } from './tree/types.js'
import type { Command } from './commands.js'

const TAG = { open: 1, close: 2, write: 3, reap: 4, attach: 5 } as const
const OP = { create: 1, delete: 2, setData: 3, setACL: 4, check: 5 } as const

/** Thrown for bytes that are not a command this codec wrote (a corrupt or foreign entry). */
export class CommandDecodeError extends Error {
  override readonly name = 'CommandDecodeError'
}

/**
 * One ArrayBuffer with the views the codec reads and writes it through. Views are made once per
 * buffer, not once per command: a DataView and a Buffer per write were a measurable part of
 * the write path.
 */
interface Region {
  readonly buffer: ArrayBufferLike
  readonly bytes: Buffer
  readonly view: DataView
}

function regionOf (buffer: ArrayBufferLike): Region {
  return { buffer, bytes: Buffer.from(buffer), view: new DataView(buffer) }
}

/**
 * Small commands are carved out of shared slabs, as Buffer's own pool does, instead of one
 * ArrayBuffer each: allocating a backing store per write cost more than encoding it. A slab is
 * freed once every command carved from it is gone (applied, and compacted out of the log), so
 * the memory held is at most a slab beyond what the commands themselves hold. Fresh slabs are
 * zeroed, so header bytes are zero until the leader stamps them.
 */
const SLAB_BYTES = 64 * 1024
/** Commands of this bound or more get an ArrayBuffer of their own rather than a slab's tail. */
const OWN_BUFFER_BYTES = SLAB_BYTES / 8
let slab = regionOf(new ArrayBuffer(SLAB_BYTES))
let slabUsed = 0

/** A region of `bound` writable bytes starting at the returned offset. */
function reserve (bound: number): { region: Region, at: number } {
  if (bound >= OWN_BUFFER_BYTES) return { region: regionOf(new ArrayBuffer(bound)), at: 0 }
  if (slabUsed + bound > SLAB_BYTES) {
    slab = regionOf(new ArrayBuffer(SLAB_BYTES))
    slabUsed = 0
  }
  return { region: slab, at: slabUsed }
}

/** Hands back the part of a reservation that was not written (a no-op for own buffers). */
function commit (region: Region, end: number): void {
  if (region === slab) slabUsed = end
}

/** Upper bound of a string's encoded size: UTF-8 takes at most 3 bytes per UTF-16 unit. */
function strBound (s: string): number {
  return 4 + 3 * s.length
}

function aclBound (acl: readonly ACL[]): number {
  let n = 2
  for (const a of acl) n += 4 + strBound(a.id.scheme) + strBound(a.id.id)
  return n
}

function opBound (op: WriteOp): number {
  const base = 1 + strBound(op.path)
  switch (op.op) {
    case 'create': return base + 4 + op.data.length + aclBound(op.acl) + 1 + 8
    case 'delete':
    case 'check': return base + 4
    case 'setData': return base + 4 + op.data.length + 4
    case 'setACL': return base + aclBound(op.acl) + 4
  }
}

function bodyBound (c: Command): number {
  switch (c.t) {
    case 'open': return 1 + strBound(c.origin) + strBound(c.nonce) + 4 + 4 + c.password.length
    case 'attach': return 1 + 8 + strBound(c.origin) + strBound(c.nonce) + 4 + c.password.length
    case 'close': return 1 + 8 + 1 + 4
    case 'reap': return 1 + strBound(c.path)
    case 'write': {
      let n = 1 + 8 + 8 + 2 + 1 + 2
      for (const a of c.auth) n += strBound(a.scheme) + strBound(a.id)
      for (const op of c.ops) n += opBound(op)
      return n
    }
  }
}

/** Sequential writer into a reserved part of a region; `offset` is absolute in the buffer. */
class Writer {
  private readonly bytes: Buffer
  private readonly view: DataView
  offset: number

  constructor (region: Region, offset: number) {
    this.bytes = region.bytes
    this.view = region.view
    this.offset = offset
  }

  u8 (v: number): void { this.bytes[this.offset++] = v }
  u16 (v: number): void {
    // DataView wraps silently; a wrapped count would decode as a different command.
    assert(v >= 0 && v <= 0xffff, `count ${v} fits 16 bits`)
    this.view.setUint16(this.offset, v)
    this.offset += 2
  }
  u32 (v: number): void { this.view.setUint32(this.offset, v); this.offset += 4 }
  i32 (v: number): void { this.view.setInt32(this.offset, v); this.offset += 4 }
  f64 (v: number): void { this.view.setFloat64(this.offset, v); this.offset += 8 }
  u64 (v: bigint): void { this.view.setBigUint64(this.offset, v); this.offset += 8 }

  str (s: string): void {
    // Paths and auth ids are short and nearly always ASCII: copying them inline is cheaper
    // than a call into the UTF-8 encoder, which takes everything else.
    const bytes = this.bytes
    const at = this.offset + 4
    let n = s.length
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i)
      if (c >= 0x80) { n = -1; break }
      bytes[at + i] = c
    }
    if (n < 0) n = bytes.write(s, at, 'utf8')
    this.u32(n)
    this.offset += n
  }

  bytesOf (b: Uint8Array): void {
    this.u32(b.length)
    this.bytes.set(b, this.offset)
    this.offset += b.length
  }

  acl (acl: readonly ACL[]): void {
    this.u16(acl.length)
    for (const a of acl) {
      this.u32(a.perms >>> 0)
      this.str(a.id.scheme)
      this.str(a.id.id)
    }
  }
}

/** The last region a command was decoded from: consecutive entries mostly share a slab or a frame. */
let lastRead: Region | undefined

/**
 * Remembers the last value decoded from some bytes and hands the same value back when the next
 * command carries the same bytes: a session's auth ids and its ACL repeat in nearly every
 * write, and rebuilding them each time was several objects per write. The shared lists are
 * read-only by type and their entries are frozen; the lists themselves are not, because
 * for-of over a frozen array allocates an iterator result per step in this V8, and the tree
 * iterates them on every ACL check.
 */
class Repeat<T> {
  #bytes = new Uint8Array(0)
  #value: T | undefined

  get (bytes: Uint8Array, from: number, to: number): T | undefined {
    const prev = this.#bytes
    if (this.#value === undefined || prev.length !== to - from) return undefined
    for (let i = 0; i < prev.length; i++) if (prev[i] !== bytes[from + i]) return undefined
    return this.#value
  }

  set (bytes: Uint8Array, from: number, to: number, value: T): T {
    // A copy, never a view (Buffer#slice would share memory): the bytes compared against must
    // not change if the buffer they came from is reused, nor pin it.
    const copy = new Uint8Array(to - from)
    copy.set(bytes.subarray(from, to))
    this.#bytes = copy
    this.#value = value
    return value
  }
}

const repeatedAuth = new Repeat<readonly Id[]>()
const repeatedAcl = new Repeat<readonly ACL[]>()

/**
 * Sequential reader over one command; every read is bounds-checked so a bad entry fails
 * cleanly. `offset` and `end` are absolute in the buffer.
 */
class Reader {
  private readonly bytes: Buffer
  private readonly view: DataView
  offset: number
  private readonly end: number

  constructor (data: Uint8Array, headerBytes: number) {
    let region = lastRead
    if (region?.buffer !== data.buffer) lastRead = region = regionOf(data.buffer)
    this.bytes = region.bytes
    this.view = region.view
    this.offset = data.byteOffset + headerBytes
    this.end = data.byteOffset + data.length
  }

  private need (n: number): number {
    const at = this.offset
    if (at + n > this.end) throw new CommandDecodeError(`command truncated (needs ${n} more bytes)`)
    this.offset += n
    return at
  }

  u8 (): number { return this.bytes[this.need(1)]! }
  u16 (): number { return this.view.getUint16(this.need(2)) }
  u32 (): number { return this.view.getUint32(this.need(4)) }
  i32 (): number { return this.view.getInt32(this.need(4)) }
  f64 (): number { return this.view.getFloat64(this.need(8)) }
  u64 (): bigint { return this.view.getBigUint64(this.need(8)) }

  str (): string {
    const n = this.u32()
    const at = this.need(n)
    return this.bytes.toString('utf8', at, at + n)
  }

  /** A view into the command, not a copy: see {@link readCommand}. */
  bytesView (): Uint8Array {
    const n = this.u32()
    const at = this.need(n)
    return new Uint8Array(this.bytes.buffer, at, n)
  }

  /** Moves past a string without decoding it. */
  private skipStr (): void {
    this.need(this.u32())
  }

  auth (): readonly Id[] {
    const from = this.offset
    for (let n = this.u16(); n > 0; n--) { this.skipStr(); this.skipStr() }
    const same = repeatedAuth.get(this.bytes, from, this.offset)
    if (same !== undefined) return same
    this.offset = from
    const auth: Id[] = []
    for (let n = this.u16(); n > 0; n--) auth.push(Object.freeze({ scheme: this.str(), id: this.str() }))
    return repeatedAuth.set(this.bytes, from, this.offset, auth)
  }

  acl (): readonly ACL[] {
    const from = this.offset
    for (let n = this.u16(); n > 0; n--) { this.need(4); this.skipStr(); this.skipStr() }
    const same = repeatedAcl.get(this.bytes, from, this.offset)
    if (same !== undefined) return same
    this.offset = from
    const acl: ACL[] = []
    for (let n = this.u16(); n > 0; n--) {
      const perms = this.u32()
      acl.push(Object.freeze({ perms, id: Object.freeze({ scheme: this.str(), id: this.str() }) }))
    }
    return repeatedAcl.set(this.bytes, from, this.offset, acl)
  }

  get done (): boolean {
    return this.offset === this.end
  }
}

/**
 * Encodes `c` after `headerBytes` zero bytes (the caller's header). The result may share its
 * ArrayBuffer with other commands (see SLAB_BYTES); it is the caller's to stamp and keep.
 */
export function writeCommand (c: Command, headerBytes: number): Uint8Array {
  const bound = headerBytes + bodyBound(c)
  const { region, at } = reserve(bound)
  const w = new Writer(region, at + headerBytes)
  switch (c.t) {
    case 'open':
      w.u8(TAG.open); w.str(c.origin); w.str(c.nonce); w.u32(c.timeoutMs); w.bytesOf(c.password)
      break
    case 'attach':
      w.u8(TAG.attach); w.u64(BigInt(c.sid)); w.str(c.origin); w.str(c.nonce); w.bytesOf(c.password)
      break
    case 'close':
      w.u8(TAG.close); w.u64(BigInt(c.sid)); w.u8(c.expired ? 1 : 0); w.u32(c.epoch)
      break
    case 'reap':
      w.u8(TAG.reap); w.str(c.path)
      break
    case 'write':
      w.u8(TAG.write); w.u64(c.sid); w.f64(c.seq)
      w.u16(c.auth.length)
      for (const a of c.auth) { w.str(a.scheme); w.str(a.id) }
      w.u8(c.multi ? 1 : 0)
      w.u16(c.ops.length)
      for (const op of c.ops) writeOp(w, op)
      break
  }
  assert(w.offset <= at + bound, 'command within its computed bound')
  commit(region, w.offset)
  return new Uint8Array(region.buffer, at, w.offset - at)
}

/** Copies an encoded command (one forwarded or re-sent) into fresh memory of the codec's own. */
export function copyCommand (data: Uint8Array): Uint8Array {
  const { region, at } = reserve(data.length)
  region.bytes.set(data, at)
  commit(region, at + data.length)
  return new Uint8Array(region.buffer, at, data.length)
}

function writeOp (w: Writer, op: WriteOp): void {
  w.u8(OP[op.op])
  w.str(op.path)
  switch (op.op) {
    case 'create':
      w.bytesOf(op.data); w.acl(op.acl); w.u8(op.mode); w.f64(op.ttlMs ?? -1)
      break
    case 'delete':
    case 'check':
      w.i32(op.version)
      break
    case 'setData':
      w.bytesOf(op.data); w.i32(op.version)
      break
    case 'setACL':
      w.acl(op.acl); w.i32(op.version)
      break
  }
}

/**
 * Decodes a command written by {@link writeCommand}, starting after the header. The data of
 * its ops are views into `data`, not copies: apply reads them once and the tree keeps its own
 * copy, so copying here was a copy per write for nothing. A caller that keeps op data past
 * the entry's lifetime must copy it.
 */
export function readCommand (data: Uint8Array, headerBytes: number): Command {
  const r = new Reader(data, headerBytes)
  const tag = r.u8()
  let c: Command
  switch (tag) {
    case TAG.open:
      c = { t: 'open', origin: r.str(), nonce: r.str(), timeoutMs: r.u32(), password: r.bytesView() }
      break
    case TAG.attach:
      c = { t: 'attach', sid: r.u64().toString(), origin: r.str(), nonce: r.str(), password: r.bytesView() }
      break
    case TAG.close:
      c = { t: 'close', sid: r.u64().toString(), expired: r.u8() === 1, epoch: r.u32() }
      break
    case TAG.reap:
      c = { t: 'reap', path: r.str() }
      break
    case TAG.write: {
      const sid = r.u64()
      const seq = r.f64()
      const auth = r.auth()
      const multi = r.u8() === 1
      const n = r.u16()
      if (!multi && n !== 1) throw new CommandDecodeError(`a single write carries ${n} ops`)
      const ops: WriteOp[] = []
      for (let i = 0; i < n; i++) ops.push(readOp(r))
      c = { t: 'write', sid, seq, auth, multi, ops }
      break
    }
    default:
      throw new CommandDecodeError(`unknown command tag ${tag}`)
  }
  if (!r.done) throw new CommandDecodeError('trailing bytes after a command')
  return c
}

/**
 * Throws CommandDecodeError unless `data` holds a well-formed command after the header (the
 * leader checks every forwarded command before it appends it).
 */
export function checkCommand (data: Uint8Array, headerBytes: number): void {
  readCommand(data, headerBytes)
}

function readOp (r: Reader): WriteOp {
  const kind = r.u8()
  const path = r.str()
  switch (kind) {
    case OP.create: {
      const data = r.bytesView()
      const acl = r.acl()
      const mode = r.u8() as CreateModeValue
      const ttl = r.f64()
      return ttl < 0 ? { op: 'create', path, data, acl, mode } : { op: 'create', path, data, acl, mode, ttlMs: ttl }
    }
    case OP.delete: return { op: 'delete', path, version: r.i32() }
    case OP.check: return { op: 'check', path, version: r.i32() }
    case OP.setData: {
      const data = r.bytesView()
      return { op: 'setData', path, data, version: r.i32() }
    }
    case OP.setACL: {
      const acl = r.acl()
      return { op: 'setACL', path, acl, version: r.i32() }
    }
    default: throw new CommandDecodeError(`unknown op kind ${kind}`)
  }
}
