/**
 * The tree's snapshot format: a hand-rolled little-endian binary layout, chosen over a generic
 * encoder because a million-znode tree must round-trip in well under a second, and one pass
 * over the store's columns with a DataView is many times faster than building and encoding an
 * object graph.
 *
 *   tree     "ZKT5" · u32 aclCount · acl* · u32 nodeCount · f64 dataBytes · data · node*
 *   acl      u32 entries · (i32 perms · str scheme · str id)*
 *   data     every node's data bytes, back to back in node order
 *   node     str path · uv parentGap · u8 flags · f64 czxid ctime · [f64 mzxid] · [f64 pzxid] ·
 *            [f64 mtime] · [i32 version aversion creates] · [f64 ttlMs if TTL] ·
 *            [i64 owner if ephemeral] · uv aclIndex · uv dataLength
 *   flags    bits 0–1 kind · 2 mzxid = czxid · 3 pzxid = czxid · 4 mtime = ctime ·
 *            5 version, aversion and creates are all 0 (each omitted field is implied)
 *   str      uv byteLength · UTF-8 bytes
 *   uv       unsigned LEB128 varint, at most 5 bytes
 *
 * Nodes are written breadth first from `/`, each child list in its stored order, so a parent
 * always comes before its children and `parent` is the ordinal of the parent's record (the
 * root's is 0xFFFFFFFF); a record stores the gap from its own ordinal back to its parent's (0 for
 * the root). A freshly created node's fields repeat one another (one zxid, one time, zero
 * counters), so flags stand in for the repeats: a typical leaf record is about 40 bytes
 * beside its path and data rather than 90. ACL lists are numbered in order of first use. The bytes are thus a
 * function of the tree's contents and sibling order only, equal on every replica that applied
 * the same transactions. Decoding rebuilds the same sibling order. The data of all nodes is
 * one block, so that decoding copies it into the store in one piece instead of node by node.
 *
 * Decoding takes the bytes as a stream, in pieces of any size ({@link TreeDecoder}), so a host
 * can decode as it reads or receives, and yield to its event loop between pieces; this module
 * itself never reads, yields or waits.
 */

import { assert } from '../assert.js'
import { plainAllocate, type Allocate } from './allocate.js'
import type { ACL } from './types.js'
import { NONE, NodeKind, ZNodeStore, type NodeKindValue, type NodeReader } from './znode-store.js'

const NO_DATA = new Uint8Array(0)
const MAGIC_BYTES = Buffer.from('ZKT5', 'latin1')
const NO_PARENT = 0xFFFF_FFFF
/** Data bytes copied from the store per step, counted like a node. */
const DATA_BYTES_PER_NODE_STEP = 256
const KIND_MASK = 0b11
const F_MZXID_IS_CZXID = 1 << 2
const F_PZXID_IS_CZXID = 1 << 3
const F_MTIME_IS_CTIME = 1 << 4
const F_COUNTS_ZERO = 1 << 5

/**
 * Encodes every node of `store` into one byte array, after `prefix` (copied to its start, so a
 * caller's header and the tree share one buffer instead of being concatenated afterwards).
 */
export function encodeTree (store: ZNodeStore, prefix?: Uint8Array): Uint8Array {
  const root = store.id('/')
  assert(root !== undefined, 'a tree has a root')
  const steps = encodeTreeSteps({ store, root, count: store.size, prefix, nodesPerStep: Number.MAX_SAFE_INTEGER })
  for (;;) {
    const r = steps.next()
    if (r.done === true) return r.value
  }
}

/** What {@link encodeTreeSteps} encodes. */
export interface EncodeSource {
  /** The nodes; a frozen view when the live store moves on between steps. */
  readonly store: NodeReader
  /** The id of `/` in `store`. */
  readonly root: number
  /** How many nodes are reachable from `root`. */
  readonly count: number
  /** Bytes copied to the start of the output (a caller's header). */
  readonly prefix?: Uint8Array
  /** Nodes handled per step: each `next()` does at most about this much work. */
  readonly nodesPerStep: number
  /** Where the output buffer comes from, if not plain memory (see {@link Allocate}). */
  readonly allocate?: Allocate
}

/**
 * How far an encoding in steps has got: `output` already has the encoding's final length, and
 * its first `written` bytes are final (the rest is filled in order by later steps), so a caller
 * may send a prefix while the encoding goes on.
 */
export interface EncodeProgress {
  readonly output: Uint8Array
  readonly written: number
}

/**
 * {@link encodeTree} in steps: each `next()` handles at most `nodesPerStep` nodes (twice over:
 * one pass orders them and sizes the output exactly, one writes), and the last returns the
 * bytes. Steps of the first pass yield undefined, those of the second its progress.
 * `source.store` must not change until then.
 */
export function * encodeTreeSteps (source: EncodeSource): Generator<EncodeProgress | undefined, Uint8Array, void> {
  const { store, root, count, nodesPerStep } = source
  const prefix = source.prefix ?? new Uint8Array(0)
  assert(nodesPerStep >= 1, 'a step encodes at least one node')
  // Breadth-first order, with each record's parent ordinal, and the exact size on the way: a
  // caller can then send the output's final prefix while the rest is still being written.
  const order = new Int32Array(count)
  const parentOf = new Uint32Array(count)
  const aclIndex = new Map<readonly ACL[], number>()
  const acls: Array<readonly ACL[]> = []
  let size = prefix.length + MAGIC_BYTES.length + 4 + 4 + 8
  let dataBytes = 0
  order[0] = root
  parentOf[0] = NO_PARENT
  let filled = 1
  for (let k = 0; k < filled; k++) {
    if (k > 0 && k % nodesPerStep === 0) yield undefined
    const id = order[k]!
    const acl = store.acl(id)
    let aclAt = aclIndex.get(acl)
    if (aclAt === undefined) {
      aclAt = acls.length
      aclIndex.set(acl, aclAt)
      acls.push(acl)
      size += 4
      for (const a of acl) size += 4 + strBytes(a.id.scheme) + strBytes(a.id.id)
    }
    const n = store.dataLength(id)
    dataBytes += n
    size += n + strBytes(store.path(id)) + varintBytes(k === 0 ? 0 : k - parentOf[k]!) + varintBytes(aclAt) + varintBytes(n) +
      recordFieldBytes(recordFlags(store, id))
    for (let c = store.firstChild(id); c !== NONE; c = store.nextSibling(c)) {
      assert(filled < count, 'no more nodes than counted are reachable')
      order[filled] = c
      parentOf[filled] = k
      filled++
    }
  }
  assert(filled === count, 'every node is reachable from the root')

  // Every byte is written, so all of the output may be warmed.
  const buf = source.allocate === undefined ? Buffer.allocUnsafe(size) : Buffer.from(source.allocate(size, size))
  buf.set(prefix, 0)
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  let pos = prefix.length + MAGIC_BYTES.copy(buf, prefix.length)
  const str = (s: string): void => {
    // Short ASCII strings (nearly every path) are copied inline: cheaper than a call into
    // Buffer.write per node. Anything else goes through the UTF-8 encoder. Either is written
    // 4 bytes ahead, where nothing final is yet: every string is followed by at least as many.
    let n = s.length
    if (n <= 64) {
      for (let i = 0; i < n; i++) {
        const c = s.charCodeAt(i)
        if (c >= 0x80) { n = -1; break }
        buf[pos + 4 + i] = c
      }
    } else n = -1
    if (n < 0) n = buf.write(s, pos + 4, 'utf8')
    // The length goes first as a varint; short strings (nearly all) take one byte, so the
    // bytes written after 4 reserved ones move back by 3.
    if (n < 0x80) {
      buf[pos] = n
      buf.copyWithin(pos + 1, pos + 4, pos + 4 + n)
      pos += 1 + n
    } else {
      // At most 4 varint bytes, so writing it never overtakes the string bytes it moves.
      assert(n < 2 ** 28, 'a snapshot string is under 256 MiB')
      const at = pos
      pos = writeVarint(buf, pos, n)
      buf.copyWithin(pos, at + 4, at + 4 + n)
      pos += n
    }
  }
  view.setUint32(pos, acls.length, true); pos += 4
  for (const acl of acls) {
    view.setUint32(pos, acl.length, true); pos += 4
    for (const a of acl) {
      view.setInt32(pos, a.perms, true); pos += 4
      str(a.id.scheme)
      str(a.id.id)
    }
  }
  view.setUint32(pos, count, true); pos += 4
  view.setFloat64(pos, dataBytes, true); pos += 8
  let copied = 0
  for (let k = 0; k < count; k++) {
    const id = order[k]!
    const n = store.dataLength(id)
    store.copyData(id, buf, pos)
    pos += n
    copied += 1 + Math.floor(n / DATA_BYTES_PER_NODE_STEP)
    if (copied >= nodesPerStep) {
      copied = 0
      yield { output: buf, written: pos }
    }
  }
  for (let k = 0; k < count; k++) {
    if (k % nodesPerStep === 0) yield { output: buf, written: pos }
    const id = order[k]!
    str(store.path(id))
    pos = writeVarint(buf, pos, k === 0 ? 0 : k - parentOf[k]!)
    const flags = recordFlags(store, id)
    const kind = flags & KIND_MASK
    buf[pos++] = flags
    view.setFloat64(pos, store.czxid(id), true)
    view.setFloat64(pos + 8, store.ctime(id), true)
    pos += 16
    if ((flags & F_MZXID_IS_CZXID) === 0) { view.setFloat64(pos, store.mzxid(id), true); pos += 8 }
    if ((flags & F_PZXID_IS_CZXID) === 0) { view.setFloat64(pos, store.pzxid(id), true); pos += 8 }
    if ((flags & F_MTIME_IS_CTIME) === 0) { view.setFloat64(pos, store.mtime(id), true); pos += 8 }
    if ((flags & F_COUNTS_ZERO) === 0) {
      view.setInt32(pos, store.version(id), true)
      view.setInt32(pos + 4, store.aversion(id), true)
      view.setInt32(pos + 8, store.creates(id), true)
      pos += 12
    }
    if (kind === NodeKind.TTL) { view.setFloat64(pos, store.ttlMs(id), true); pos += 8 }
    if (kind === NodeKind.EPHEMERAL) { view.setBigInt64(pos, store.owner(id), true); pos += 8 }
    pos = writeVarint(buf, pos, aclIndex.get(store.acl(id))!)
    pos = writeVarint(buf, pos, store.dataLength(id))
  }
  assert(pos === size, 'the encoding is as long as sized')
  return buf
}

/** The flags byte of `id`'s record: its kind, and which fields repeat another and are left out. */
function recordFlags (store: NodeReader, id: number): number {
  const czxid = store.czxid(id)
  return store.kind(id) |
    (store.mzxid(id) === czxid ? F_MZXID_IS_CZXID : 0) |
    (store.pzxid(id) === czxid ? F_PZXID_IS_CZXID : 0) |
    (store.mtime(id) === store.ctime(id) ? F_MTIME_IS_CTIME : 0) |
    (store.version(id) === 0 && store.aversion(id) === 0 && store.creates(id) === 0 ? F_COUNTS_ZERO : 0)
}

/** Bytes of a record's flags and fixed fields (czxid, ctime, and those `flags` do not leave out). */
function recordFieldBytes (flags: number): number {
  const kind = flags & KIND_MASK
  return 1 + 16 +
    ((flags & F_MZXID_IS_CZXID) === 0 ? 8 : 0) +
    ((flags & F_PZXID_IS_CZXID) === 0 ? 8 : 0) +
    ((flags & F_MTIME_IS_CTIME) === 0 ? 8 : 0) +
    ((flags & F_COUNTS_ZERO) === 0 ? 12 : 0) +
    (kind === NodeKind.TTL || kind === NodeKind.EPHEMERAL ? 8 : 0)
}

/** Bytes of `s` as a snapshot string: its UTF-8 length as a varint, then its UTF-8 bytes. */
function strBytes (s: string): number {
  let n = s.length
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) >= 0x80) {
      n = Buffer.byteLength(s, 'utf8')
      break
    }
  }
  return varintBytes(n) + n
}

function varintBytes (v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x20_0000 ? 3 : v < 0x1000_0000 ? 4 : 5
}

/** A decoded tree: its nodes, and how many nodes use each distinct ACL list (for interning). */
export interface DecodedTree {
  readonly store: ZNodeStore
  readonly aclUses: ReadonlyMap<readonly ACL[], number>
}

/**
 * Decodes a byte stream handed over in pieces of any size, as they arrive (from a file or the
 * network), so nothing holds the whole encoding at once. Pure: no I/O, no waiting.
 */
export interface StreamDecoder<T> {
  /** Consumes `chunk`, keeping a copy of whatever it still needs: the caller may reuse it. Throws on corrupt input. */
  write (chunk: Uint8Array): void
  /** The decoded value, once every byte was written. Throws if the input was cut short. */
  finish (): T
}

/** Bytes staged for parsing at first; a record larger than this grows it. */
const STAGE_BYTES = 1 << 20
/** Thrown by a parse that ran past the staged bytes: it is retried once more arrive. */
const SHORT = Symbol('short')

/**
 * Decodes {@link encodeTree}'s bytes as a stream ({@link StreamDecoder}): the data block is
 * copied straight into the store's data arena, node records are parsed from a small staging
 * buffer. Reading a large snapshot whole first would cost a buffer of its full size, which on a
 * machine where first-touched memory is slow costs more than the decoding.
 */
export class TreeDecoder implements StreamDecoder<DecodedTree> {
  #stage = Buffer.allocUnsafe(STAGE_BYTES)
  #view = new DataView(this.#stage.buffer, this.#stage.byteOffset, this.#stage.byteLength)
  /** First staged byte not yet consumed, and the end of the staged bytes. */
  #start = 0
  #end = 0
  #phase: 'head' | 'data' | 'nodes' | 'done' = 'head'
  readonly #store = new ZNodeStore()
  #acls: Array<readonly ACL[]> = []
  #uses = new Uint32Array(0)
  #count = 0
  #dataBytes = 0
  /** The arena piece the data block is copied into, its handle, and how much of it is filled. */
  #block: Buffer = Buffer.alloc(0)
  #adopted = 0
  #filled = 0
  /** Nodes decoded, and data bytes they point to so far. */
  #k = 0
  #dataAt = 0
  /** Last child linked under each record so far, plus one (0: none yet), so siblings keep their encoded order. */
  #lastChild: Int32Array = new Int32Array(0)

  /** `allocate` provides the large buffers the decoded tree fills (see {@link Allocate}). */
  constructor (private readonly allocate: Allocate = plainAllocate) {}

  write (chunk: Uint8Array): void {
    let at = 0
    while (at < chunk.length) {
      if (this.#phase === 'data' && this.#start === this.#end) {
        // Straight from the caller's bytes into the arena: no staging copy.
        at += this.#fill(chunk, at, chunk.length)
        if (this.#filled === this.#dataBytes) this.#phase = 'nodes'
        continue
      }
      at += this.#stageFrom(chunk, at)
      this.#drain()
    }
  }

  finish (): DecodedTree {
    assert(this.#phase === 'done', 'snapshot is truncated')
    assert(this.#dataAt === this.#dataBytes, 'every byte of the data block belongs to a node')
    const aclUses = new Map<readonly ACL[], number>()
    for (let i = 0; i < this.#acls.length; i++) if (this.#uses[i]! > 0) aclUses.set(this.#acls[i]!, this.#uses[i]!)
    return { store: this.#store, aclUses }
  }

  /** Copies what fits of `chunk` from `at` to the staged bytes, moving or growing the stage for room; returns how much. */
  #stageFrom (chunk: Uint8Array, at: number): number {
    if (this.#end === this.#stage.length) {
      if (this.#start > 0) {
        this.#stage.copyWithin(0, this.#start, this.#end)
        this.#end -= this.#start
        this.#start = 0
      } else {
        const grown = Buffer.allocUnsafe(2 * this.#stage.length)
        this.#stage.copy(grown, 0, 0, this.#end)
        this.#stage = grown
        this.#view = new DataView(grown.buffer, grown.byteOffset, grown.byteLength)
      }
    }
    const n = Math.min(this.#stage.length - this.#end, chunk.length - at)
    this.#stage.set(chunk.subarray(at, at + n), this.#end)
    this.#end += n
    return n
  }

  /** Copies data-block bytes `[from, to)` of `bytes` (at most what the block lacks) to the arena; returns how many. */
  #fill (bytes: Uint8Array, from: number, to: number): number {
    const n = Math.min(to - from, this.#dataBytes - this.#filled)
    this.#block.set(bytes.subarray(from, from + n), this.#filled)
    this.#filled += n
    return n
  }

  /** Consumes staged bytes through as many phases as they complete. */
  #drain (): void {
    for (;;) {
      switch (this.#phase) {
        case 'head':
          if (!this.#head()) return
          break
        case 'data':
          this.#start += this.#fill(this.#stage, this.#start, this.#end)
          if (this.#filled < this.#dataBytes) return
          this.#phase = 'nodes'
          break
        case 'nodes':
          try {
            while (this.#k < this.#count) this.#node()
          } catch (err) {
            if (err === SHORT) return
            throw err
          }
          this.#phase = 'done'
          break
        case 'done':
          assert(this.#start === this.#end, 'snapshot has no trailing bytes')
          return
      }
    }
  }

  /** Parses the ACL table and counts once all of it is staged; false until then. */
  #head (): boolean {
    const buf = this.#stage
    const view = this.#view
    const end = this.#end
    let pos = this.#start
    const need = (n: number): void => { if (pos + n > end) throw SHORT }
    const u32 = (): number => { need(4); const v = view.getUint32(pos, true); pos += 4; return v }
    const str = (): string => {
      const n = varint()
      need(n)
      const s = buf.toString('utf8', pos, pos + n)
      pos += n
      return s
    }
    const varint = (): number => {
      const r = readVarint(buf, pos, end)
      pos = r.pos
      return r.value
    }
    const acls: Array<readonly ACL[]> = []
    let count: number
    let dataBytes: number
    try {
      need(4)
      assert(buf.subarray(pos, pos + 4).equals(MAGIC_BYTES), 'snapshot starts with ZKT5')
      pos += 4
      for (let i = u32(); i > 0; i--) {
        const acl: ACL[] = []
        for (let j = u32(); j > 0; j--) {
          need(4)
          const perms = view.getInt32(pos, true); pos += 4
          const scheme = str()
          acl.push({ perms, id: { scheme, id: str() } })
        }
        acls.push(acl)
      }
      count = u32()
      need(8)
      dataBytes = view.getFloat64(pos, true)
      pos += 8
    } catch (err) {
      if (err === SHORT) return false
      throw err
    }
    assert(count >= 1, 'a snapshot holds the root')
    assert(Number.isSafeInteger(dataBytes) && dataBytes >= 0, 'data size is a byte count')
    this.#start = pos
    this.#acls = acls
    this.#uses = new Uint32Array(acls.length)
    this.#count = count
    this.#dataBytes = dataBytes
    // In the order they are filled: the data block comes next in the stream.
    this.#block = Buffer.from(this.allocate(dataBytes, dataBytes))
    this.#adopted = this.#store.adoptData(this.#block)
    this.#store.reserve(count, this.allocate)
    this.#lastChild = new Int32Array(this.allocate(4 * count, 4 * count))
    this.#phase = 'data'
    return true
  }

  /** Parses and adds the next node record; throws {@link SHORT}, having changed nothing, if it is not all staged. */
  #node (): void {
    const buf = this.#stage
    const view = this.#view
    const end = this.#end
    const k = this.#k
    let pos = this.#start
    // The path and every field are read before the store is touched, so a short record leaves no trace.
    let r = readVarint(buf, pos, end)
    const pathBytes = r.value
    if (r.pos + pathBytes > end) throw SHORT
    const path = buf.toString('utf8', r.pos, r.pos + pathBytes)
    r = readVarint(buf, r.pos + pathBytes, end)
    const gap = r.value
    pos = r.pos
    if (pos + 17 > end) throw SHORT
    const flags = buf[pos]!
    const kind = (flags & KIND_MASK) as NodeKindValue
    const czxid = view.getFloat64(pos + 1, true)
    const ctime = view.getFloat64(pos + 9, true)
    pos += 17
    let mzxid = czxid
    let pzxid = czxid
    let mtime = ctime
    let version = 0
    let aversion = 0
    let creates = 0
    let ttlMs = 0
    let owner = 0n
    if ((flags & F_MZXID_IS_CZXID) === 0) {
      if (pos + 8 > end) throw SHORT
      mzxid = view.getFloat64(pos, true); pos += 8
    }
    if ((flags & F_PZXID_IS_CZXID) === 0) {
      if (pos + 8 > end) throw SHORT
      pzxid = view.getFloat64(pos, true); pos += 8
    }
    if ((flags & F_MTIME_IS_CTIME) === 0) {
      if (pos + 8 > end) throw SHORT
      mtime = view.getFloat64(pos, true); pos += 8
    }
    if ((flags & F_COUNTS_ZERO) === 0) {
      if (pos + 12 > end) throw SHORT
      version = view.getInt32(pos, true)
      aversion = view.getInt32(pos + 4, true)
      creates = view.getInt32(pos + 8, true)
      pos += 12
    }
    if (kind === NodeKind.TTL) {
      if (pos + 8 > end) throw SHORT
      ttlMs = view.getFloat64(pos, true); pos += 8
    }
    if (kind === NodeKind.EPHEMERAL) {
      if (pos + 8 > end) throw SHORT
      owner = view.getBigInt64(pos, true); pos += 8
    }
    r = readVarint(buf, pos, end)
    const aclAt = r.value
    r = readVarint(buf, r.pos, end)
    const n = r.value
    this.#start = r.pos

    const acl = this.#acls[aclAt]
    assert(acl !== undefined, 'node ACL index is in range')
    this.#uses[aclAt]!++
    assert(this.#dataAt + n <= this.#dataBytes, 'node data lies within the data block')
    const store = this.#store
    const id = store.addAdopted(path, { data: NO_DATA, acl, czxid, mzxid, pzxid, ctime, mtime, version, aversion, creates, kind, ttlMs, owner }, this.#adopted, this.#dataAt, n)
    this.#dataAt += n
    this.#k = k + 1
    assert(id === k, 'a fresh store numbers nodes in order')
    if (k === 0) {
      assert(path === '/' && gap === 0, 'the first node is the root')
      return
    }
    assert(gap >= 1 && gap <= k, 'a parent comes before its children')
    const parent = k - gap
    const parentPath = store.path(parent)
    const cut = path.lastIndexOf('/')
    assert(path.startsWith(parentPath) && cut === (parent === 0 ? 0 : parentPath.length), `snapshot holds the parent of ${path}`)
    store.link(parent, id, this.#lastChild[parent]! - 1)
    this.#lastChild[parent] = id + 1
  }
}

/** The result of {@link readVarint}: the value and the position after it. */
interface Varint { value: number, pos: number }
const varintOut: Varint = { value: 0, pos: 0 }

/**
 * Reads a LEB128 varint of at most 5 bytes at `pos`, staged up to `end`; throws {@link SHORT}
 * if it runs past `end`. Returns one shared result object (no allocation per call): read it
 * before the next call.
 */
function readVarint (buf: Uint8Array, pos: number, end: number): Varint {
  if (pos >= end) throw SHORT
  const first = buf[pos]!
  if (first < 0x80) {
    // Nearly every varint (lengths of paths and data, parent gaps, ACL indexes) is one byte.
    varintOut.value = first
    varintOut.pos = pos + 1
    return varintOut
  }
  let v = 0
  let scale = 1
  for (let i = 0; i < 5; i++) {
    if (pos >= end) throw SHORT
    const b = buf[pos++]!
    v += (b & 0x7f) * scale
    if (b < 0x80) {
      varintOut.value = v
      varintOut.pos = pos
      return varintOut
    }
    scale *= 0x80
  }
  assert(false, 'a varint has at most 5 bytes')
}

/** Writes `v` (an unsigned 32-bit integer) as a LEB128 varint at `pos`; returns the position after it. */
function writeVarint (buf: Uint8Array, pos: number, v: number): number {
  while (v >= 0x80) {
    buf[pos++] = (v & 0x7f) | 0x80
    v = Math.floor(v / 0x80)
  }
  buf[pos] = v
  return pos + 1
}

/** Decodes {@link encodeTree}'s bytes in one go. Throws on corrupt input. */
export function decodeTree (bytes: Uint8Array): DecodedTree {
  const decoder = new TreeDecoder()
  decoder.write(bytes)
  return decoder.finish()
}
