/**
 * The binary layout of commands in log entries. Hand-rolled rather than msgpack because every
 * write is encoded once and decoded on every peer: sizes are computed first, the output is
 * allocated once, and decoding builds only the objects apply needs.
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

function strBytes (s: string): number {
  return 4 + Buffer.byteLength(s, 'utf8')
}

function aclBytes (acl: readonly ACL[]): number {
  let n = 2
  for (const a of acl) n += 4 + strBytes(a.id.scheme) + strBytes(a.id.id)
  return n
}

function opBytes (op: WriteOp): number {
  const base = 1 + strBytes(op.path)
  switch (op.op) {
    case 'create': return base + 4 + op.data.length + aclBytes(op.acl) + 1 + 8
    case 'delete':
    case 'check': return base + 4
    case 'setData': return base + 4 + op.data.length + 4
    case 'setACL': return base + aclBytes(op.acl) + 4
  }
}

function bodyBytes (c: Command): number {
  switch (c.t) {
    case 'open': return 1 + strBytes(c.origin) + strBytes(c.nonce) + 4 + 4 + c.password.length
    case 'attach': return 1 + 8 + strBytes(c.origin) + strBytes(c.nonce) + 4 + c.password.length
    case 'close': return 1 + 8 + 1 + 4
    case 'reap': return 1 + strBytes(c.path)
    case 'write': {
      let n = 1 + 8 + 8 + 2 + 1 + 2
      for (const a of c.auth) n += strBytes(a.scheme) + strBytes(a.id)
      for (const op of c.ops) n += opBytes(op)
      return n
    }
  }
}

/** Sequential writer over one pre-sized buffer. */
class Writer {
  private readonly view: DataView
  offset: number

  constructor (readonly buf: Buffer, offset: number) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
    this.offset = offset
  }

  u8 (v: number): void { this.view.setUint8(this.offset, v); this.offset += 1 }
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
    const n = this.buf.write(s, this.offset + 4, 'utf8')
    this.u32(n)
    this.offset += n
  }

  bytes (b: Uint8Array): void {
    this.u32(b.length)
    this.buf.set(b, this.offset)
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

/** Sequential reader; every read is bounds-checked so a bad entry fails cleanly. */
class Reader {
  private readonly view: DataView
  offset: number

  /** `copy` false: `bytes()` returns views, for a check that keeps nothing it decodes. */
  constructor (private readonly buf: Uint8Array, offset: number, private readonly copy = true) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
    this.offset = offset
  }

  private need (n: number): number {
    const at = this.offset
    if (at + n > this.buf.length) throw new CommandDecodeError(`command truncated at byte ${at} (needs ${n} more)`)
    this.offset += n
    return at
  }

  u8 (): number { return this.view.getUint8(this.need(1)) }
  u16 (): number { return this.view.getUint16(this.need(2)) }
  u32 (): number { return this.view.getUint32(this.need(4)) }
  i32 (): number { return this.view.getInt32(this.need(4)) }
  f64 (): number { return this.view.getFloat64(this.need(8)) }
  u64 (): bigint { return this.view.getBigUint64(this.need(8)) }

  str (): string {
    const n = this.u32()
    const at = this.need(n)
    return Buffer.from(this.buf.buffer, this.buf.byteOffset + at, n).toString('utf8')
  }

  /** A copy: znode data must not pin the entry (or network frame) it arrived in. */
  bytes (): Uint8Array {
    const n = this.u32()
    const at = this.need(n)
    const view = this.buf.subarray(at, at + n)
    return this.copy ? Buffer.from(view) : view
  }

  acl (): ACL[] {
    const n = this.u16()
    const acl: ACL[] = []
    for (let i = 0; i < n; i++) {
      const perms = this.u32()
      acl.push({ perms, id: { scheme: this.str(), id: this.str() } })
    }
    return acl
  }

  get done (): boolean {
    return this.offset === this.buf.length
  }
}

/** Encodes `c` after `headerBytes` zero bytes (the caller's header). */
export function writeCommand (c: Command, headerBytes: number): Uint8Array {
  const buf = Buffer.alloc(headerBytes + bodyBytes(c))
  const w = new Writer(buf, headerBytes)
  switch (c.t) {
    case 'open':
      w.u8(TAG.open); w.str(c.origin); w.str(c.nonce); w.u32(c.timeoutMs); w.bytes(c.password)
      break
    case 'attach':
      w.u8(TAG.attach); w.u64(BigInt(c.sid)); w.str(c.origin); w.str(c.nonce); w.bytes(c.password)
      break
    case 'close':
      w.u8(TAG.close); w.u64(BigInt(c.sid)); w.u8(c.expired ? 1 : 0); w.u32(c.epoch)
      break
    case 'reap':
      w.u8(TAG.reap); w.str(c.path)
      break
    case 'write':
      w.u8(TAG.write); w.u64(BigInt(c.sid)); w.f64(c.seq)
      w.u16(c.auth.length)
      for (const a of c.auth) { w.str(a.scheme); w.str(a.id) }
      w.u8(c.multi ? 1 : 0)
      w.u16(c.ops.length)
      for (const op of c.ops) writeOp(w, op)
      break
  }
  assert(w.offset === buf.length, 'command size computed exactly')
  return buf
}

function writeOp (w: Writer, op: WriteOp): void {
  w.u8(OP[op.op])
  w.str(op.path)
  switch (op.op) {
    case 'create':
      w.bytes(op.data); w.acl(op.acl); w.u8(op.mode); w.f64(op.ttlMs ?? -1)
      break
    case 'delete':
    case 'check':
      w.i32(op.version)
      break
    case 'setData':
      w.bytes(op.data); w.i32(op.version)
      break
    case 'setACL':
      w.acl(op.acl); w.i32(op.version)
      break
  }
}

/** Decodes a command written by {@link writeCommand}, starting after the header. */
export function readCommand (data: Uint8Array, headerBytes: number): Command {
  return decode(new Reader(data, headerBytes))
}

/**
 * Throws CommandDecodeError unless `data` holds a well-formed command after the header.
 * Decodes without copying znode data: the leader checks every forwarded command, and apply
 * decodes it again anyway.
 */
export function checkCommand (data: Uint8Array, headerBytes: number): void {
  decode(new Reader(data, headerBytes, false))
}

function decode (r: Reader): Command {
  const tag = r.u8()
  let c: Command
  switch (tag) {
    case TAG.open:
      c = { t: 'open', origin: r.str(), nonce: r.str(), timeoutMs: r.u32(), password: r.bytes() }
      break
    case TAG.attach:
      c = { t: 'attach', sid: r.u64().toString(), origin: r.str(), nonce: r.str(), password: r.bytes() }
      break
    case TAG.close:
      c = { t: 'close', sid: r.u64().toString(), expired: r.u8() === 1, epoch: r.u32() }
      break
    case TAG.reap:
      c = { t: 'reap', path: r.str() }
      break
    case TAG.write: {
      const sid = r.u64().toString()
      const seq = r.f64()
      const auth: Id[] = []
      for (let n = r.u16(); n > 0; n--) auth.push({ scheme: r.str(), id: r.str() })
      const multi = r.u8() === 1
      const ops: WriteOp[] = []
      for (let n = r.u16(); n > 0; n--) ops.push(readOp(r))
      if (!multi && ops.length !== 1) throw new CommandDecodeError(`a single write carries ${ops.length} ops`)
      c = { t: 'write', sid, seq, auth, multi, ops }
      break
    }
    default:
      throw new CommandDecodeError(`unknown command tag ${tag}`)
  }
  if (!r.done) throw new CommandDecodeError('trailing bytes after a command')
  return c
}

function readOp (r: Reader): WriteOp {
  const kind = r.u8()
  const path = r.str()
  switch (kind) {
    case OP.create: {
      const data = r.bytes()
      const acl = r.acl()
      const mode = r.u8() as CreateModeValue
      const ttl = r.f64()
      return ttl < 0 ? { op: 'create', path, data, acl, mode } : { op: 'create', path, data, acl, mode, ttlMs: ttl }
    }
    case OP.delete: return { op: 'delete', path, version: r.i32() }
    case OP.check: return { op: 'check', path, version: r.i32() }
    case OP.setData: {
      const data = r.bytes()
      return { op: 'setData', path, data, version: r.i32() }
    }
    case OP.setACL: {
      const acl = r.acl()
      return { op: 'setACL', path, acl, version: r.i32() }
    }
    default: throw new CommandDecodeError(`unknown op kind ${kind}`)
  }
}
