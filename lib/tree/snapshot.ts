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
 * Decoding can be done in steps of a bounded number of nodes ({@link decodeTreeSteps}), so a
 * host can yield to its event loop between them; this module itself never yields or waits.
 */

import { assert } from '../assert.js'
import type { ACL } from './types.js'
import { NONE, NodeKind, ZNodeStore, type NodeKindValue } from './znode-store.js'

const NO_DATA = new Uint8Array(0)
const MAGIC_BYTES = Buffer.from('ZKT5', 'latin1')
const NO_PARENT = 0xFFFF_FFFF
/** At most: path length · parentGap · flags · 5 f64 · 3 i32 · (ttl or owner) · aclIndex · dataLength. */
const FIXED_NODE_BYTES = 5 + 5 + 1 + 5 * 8 + 3 * 4 + 8 + 5 + 5
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
  /** The nodes; a frozen copy when the live store moves on between steps. */
  readonly store: ZNodeStore
  /** The id of `/` in `store`. */
  readonly root: number
  /** How many nodes are reachable from `root`. */
  readonly count: number
  /** Bytes copied to the start of the output (a caller's header). */
  readonly prefix?: Uint8Array
  /** Nodes handled per step: each `next()` does at most about this much work. */
  readonly nodesPerStep: number
}

/**
 * {@link encodeTree} in steps: each `next()` handles at most `nodesPerStep` nodes (twice over:
 * one pass orders them and bounds the size, one writes), and the last returns the bytes.
 * `source.store` must not change until then.
 */
export function * encodeTreeSteps (source: EncodeSource): Generator<void, Uint8Array, void> {
  const { store, root, count, nodesPerStep } = source
  const prefix = source.prefix ?? new Uint8Array(0)
  assert(nodesPerStep >= 1, 'a step encodes at least one node')
  // Breadth-first order, with each record's parent ordinal, and a size bound on the way.
  const order = new Int32Array(count)
  const parentOf = new Uint32Array(count)
  const aclIndex = new Map<readonly ACL[], number>()
  const acls: Array<readonly ACL[]> = []
  let bound = prefix.length + 4 + 4 + 4 + 8
  let dataBytes = 0
  order[0] = root
  parentOf[0] = NO_PARENT
  let filled = 1
  for (let k = 0; k < filled; k++) {
    if (k > 0 && k % nodesPerStep === 0) yield
    const id = order[k]!
    const acl = store.acl(id)
    if (!aclIndex.has(acl)) {
      aclIndex.set(acl, acls.length)
      acls.push(acl)
      bound += 4
      for (const a of acl) bound += 4 + 8 + 3 * (a.id.scheme.length + a.id.id.length)
    }
    const n = store.dataLength(id)
    dataBytes += n
    bound += FIXED_NODE_BYTES + 3 * store.path(id).length + n
    for (let c = store.firstChild(id); c !== NONE; c = store.nextSibling(c)) {
      assert(filled < count, 'no more nodes than counted are reachable')
      order[filled] = c
      parentOf[filled] = k
      filled++
    }
  }
  assert(filled === count, 'every node is reachable from the root')

  const buf = Buffer.allocUnsafe(bound)
  buf.set(prefix, 0)
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  let pos = prefix.length + MAGIC_BYTES.copy(buf, prefix.length)
  const str = (s: string): void => {
    // Short ASCII strings (nearly every path) are copied inline: cheaper than a call into
    // Buffer.write per node. Anything else goes through the UTF-8 encoder.
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
      yield
    }
  }
  for (let k = 0; k < count; k++) {
    if (k % nodesPerStep === 0) yield
    const id = order[k]!
    str(store.path(id))
    const kind = store.kind(id)
    pos = writeVarint(buf, pos, k === 0 ? 0 : k - parentOf[k]!)
    const czxid = store.czxid(id)
    const mzxid = store.mzxid(id)
    const pzxid = store.pzxid(id)
    const ctime = store.ctime(id)
    const mtime = store.mtime(id)
    const version = store.version(id)
    const aversion = store.aversion(id)
    const creates = store.creates(id)
    const countsZero = version === 0 && aversion === 0 && creates === 0
    buf[pos++] = kind | (mzxid === czxid ? F_MZXID_IS_CZXID : 0) | (pzxid === czxid ? F_PZXID_IS_CZXID : 0) |
      (mtime === ctime ? F_MTIME_IS_CTIME : 0) | (countsZero ? F_COUNTS_ZERO : 0)
    view.setFloat64(pos, czxid, true)
    view.setFloat64(pos + 8, ctime, true)
    pos += 16
    if (mzxid !== czxid) { view.setFloat64(pos, mzxid, true); pos += 8 }
    if (pzxid !== czxid) { view.setFloat64(pos, pzxid, true); pos += 8 }
    if (mtime !== ctime) { view.setFloat64(pos, mtime, true); pos += 8 }
    if (!countsZero) {
      view.setInt32(pos, version, true)
      view.setInt32(pos + 4, aversion, true)
      view.setInt32(pos + 8, creates, true)
      pos += 12
    }
    if (kind === NodeKind.TTL) { view.setFloat64(pos, store.ttlMs(id), true); pos += 8 }
    if (kind === NodeKind.EPHEMERAL) { view.setBigInt64(pos, store.owner(id), true); pos += 8 }
    pos = writeVarint(buf, pos, aclIndex.get(store.acl(id))!)
    pos = writeVarint(buf, pos, store.dataLength(id))
  }
  assert(pos <= bound, 'snapshot size bound holds')
  return buf.subarray(0, pos)
}

/** A decoded tree: its nodes, and how many nodes use each distinct ACL list (for interning). */
export interface DecodedTree {
  readonly store: ZNodeStore
  readonly aclUses: ReadonlyMap<readonly ACL[], number>
}

/**
 * Decodes {@link encodeTree}'s bytes in steps: each `next()` decodes at most `nodesPerStep`
 * nodes, and the last returns the tree. Throws (from `next()`) on corrupt input. `bytes` must
 * not change until it is done.
 */
export function * decodeTreeSteps (bytes: Uint8Array, nodesPerStep: number): Generator<void, DecodedTree, void> {
  assert(nodesPerStep >= 1, 'a step decodes at least one node')
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  assert(buf.length >= 12 && buf.subarray(0, 4).equals(MAGIC_BYTES), 'snapshot starts with ZKT5')
  let pos = 4
  const need = (n: number): void => assert(pos + n <= buf.length, 'snapshot is truncated')
  const u32 = (): number => { need(4); const v = view.getUint32(pos, true); pos += 4; return v }
  const uv = (): number => {
    let v = 0
    for (let shift = 0; shift < 35; shift += 7) {
      need(1)
      const b = buf[pos++]!
      v += (b & 0x7f) * 2 ** shift
      if (b < 0x80) return v
    }
    assert(false, 'a varint has at most 5 bytes')
  }
  const str = (): string => {
    const n = uv()
    need(n)
    const s = buf.toString('utf8', pos, pos + n)
    pos += n
    return s
  }
  const acls: Array<readonly ACL[]> = []
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
  const uses = new Uint32Array(acls.length)
  const count = u32()
  assert(count >= 1, 'a snapshot holds the root')
  need(8)
  const dataBytes = view.getFloat64(pos, true)
  pos += 8
  assert(Number.isSafeInteger(dataBytes) && dataBytes >= 0, 'data size is a byte count')
  need(dataBytes)
  const store = new ZNodeStore()
  store.reserve(count)
  const adopted = store.adoptData(buf.subarray(pos, pos + dataBytes))
  pos += dataBytes
  let dataAt = 0
  /** Last child linked under each record so far, so siblings keep their encoded order. */
  const lastChild = new Int32Array(count).fill(NONE)
  for (let k = 0; k < count; k++) {
    if (k > 0 && k % nodesPerStep === 0) yield
    const path = str()
    const gap = uv()
    need(17)
    const flags = buf[pos]!
    const kind = (flags & KIND_MASK) as NodeKindValue
    const czxid = view.getFloat64(pos + 1, true)
    const ctime = view.getFloat64(pos + 9, true)
    pos += 17
    const f64 = (): number => { need(8); const v = view.getFloat64(pos, true); pos += 8; return v }
    const mzxid = (flags & F_MZXID_IS_CZXID) !== 0 ? czxid : f64()
    const pzxid = (flags & F_PZXID_IS_CZXID) !== 0 ? czxid : f64()
    const mtime = (flags & F_MTIME_IS_CTIME) !== 0 ? ctime : f64()
    let version = 0
    let aversion = 0
    let creates = 0
    if ((flags & F_COUNTS_ZERO) === 0) {
      need(12)
      version = view.getInt32(pos, true)
      aversion = view.getInt32(pos + 4, true)
      creates = view.getInt32(pos + 8, true)
      pos += 12
    }
    let ttlMs = 0
    let owner = 0n
    if (kind === NodeKind.TTL) ttlMs = f64()
    if (kind === NodeKind.EPHEMERAL) { need(8); owner = view.getBigInt64(pos, true); pos += 8 }
    const aclAt = uv()
    const acl = acls[aclAt]
    assert(acl !== undefined, 'node ACL index is in range')
    uses[aclAt]!++
    const n = uv()
    assert(dataAt + n <= dataBytes, 'node data lies within the data block')
    const parent = k === 0 ? NO_PARENT : k - gap
    const id = store.addAdopted(path, { data: NO_DATA, acl, czxid, mzxid, pzxid, ctime, mtime, version, aversion, creates, kind, ttlMs, owner }, adopted, dataAt, n)
    dataAt += n
    assert(id === k, 'a fresh store numbers nodes in order')
    if (k === 0) {
      assert(path === '/' && gap === 0, 'the first node is the root')
      continue
    }
    assert(gap >= 1 && gap <= k, 'a parent comes before its children')
    const parentPath = store.path(parent)
    const cut = path.lastIndexOf('/')
    assert(path.startsWith(parentPath) && cut === (parent === 0 ? 0 : parentPath.length), `snapshot holds the parent of ${path}`)
    store.link(parent, id, lastChild[parent]!)
    lastChild[parent] = id
  }
  assert(pos === buf.length, 'snapshot has no trailing bytes')
  assert(dataAt === dataBytes, 'every byte of the data block belongs to a node')
  const aclUses = new Map<readonly ACL[], number>()
  for (let i = 0; i < acls.length; i++) if (uses[i]! > 0) aclUses.set(acls[i]!, uses[i]!)
  return { store, aclUses }
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
  const steps = decodeTreeSteps(bytes, Number.MAX_SAFE_INTEGER)
  for (;;) {
    const r = steps.next()
    if (r.done === true) return r.value
  }
}
