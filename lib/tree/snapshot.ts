/**
 * The tree's snapshot format: a hand-rolled little-endian binary layout, chosen over a generic
 * encoder because a million-znode tree must round-trip in well under a second, and one pass
 * over the store's columns with a DataView is many times faster than building and encoding an
 * object graph.
 *
 *   tree     "ZKT5" · u32 aclCount · acl* · u32 nodeCount · f64 dataBytes · data · node*
 *   acl      u32 entries · (i32 perms · str scheme · str id)*
 *   data     every node's data bytes, back to back in node order
 *   node     str path · u32 parent · u32 aclIndex · u8 kind · f64 czxid mzxid pzxid ctime mtime ·
 *            i32 version aversion creates · [f64 ttlMs if TTL] · [i64 owner if ephemeral] ·
 *            u32 dataLength
 *   str      u32 byteLength · UTF-8 bytes
 *
 * Nodes are written breadth first from `/`, each child list in its stored order, so a parent
 * always comes before its children and `parent` is the ordinal of the parent's record (the
 * root's is 0xFFFFFFFF). ACL lists are numbered in order of first use. The bytes are thus a
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
/** path length · parent · aclIndex · kind · 5 f64 · 3 i32 · (ttl or owner) · dataLength. */
const FIXED_NODE_BYTES = 4 + 4 + 4 + 1 + 5 * 8 + 3 * 4 + 8 + 4
/** Data bytes copied from the store per step, counted like a node. */
const DATA_BYTES_PER_NODE_STEP = 256
/** Bytes of a node record after its path and before its optional fields. */
const NODE_FIELDS_BYTES = 4 + 4 + 1 + 5 * 8 + 3 * 4

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
    view.setUint32(pos, n, true)
    pos += 4 + n
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
    view.setUint32(pos, parentOf[k]!, true)
    view.setUint32(pos + 4, aclIndex.get(store.acl(id))!, true)
    view.setUint8(pos + 8, kind)
    view.setFloat64(pos + 9, store.czxid(id), true)
    view.setFloat64(pos + 17, store.mzxid(id), true)
    view.setFloat64(pos + 25, store.pzxid(id), true)
    view.setFloat64(pos + 33, store.ctime(id), true)
    view.setFloat64(pos + 41, store.mtime(id), true)
    view.setInt32(pos + 49, store.version(id), true)
    view.setInt32(pos + 53, store.aversion(id), true)
    view.setInt32(pos + 57, store.creates(id), true)
    pos += NODE_FIELDS_BYTES
    if (kind === NodeKind.TTL) { view.setFloat64(pos, store.ttlMs(id), true); pos += 8 }
    if (kind === NodeKind.EPHEMERAL) { view.setBigInt64(pos, store.owner(id), true); pos += 8 }
    view.setUint32(pos, store.dataLength(id), true)
    pos += 4
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
  const str = (): string => {
    const n = u32()
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
    need(NODE_FIELDS_BYTES)
    const parent = view.getUint32(pos, true)
    const aclAt = view.getUint32(pos + 4, true)
    const acl = acls[aclAt]
    assert(acl !== undefined, 'node ACL index is in range')
    uses[aclAt]!++
    const kind = view.getUint8(pos + 8) as NodeKindValue
    assert(kind <= NodeKind.TTL, 'node kind is known')
    const czxid = view.getFloat64(pos + 9, true)
    const mzxid = view.getFloat64(pos + 17, true)
    const pzxid = view.getFloat64(pos + 25, true)
    const ctime = view.getFloat64(pos + 33, true)
    const mtime = view.getFloat64(pos + 41, true)
    const version = view.getInt32(pos + 49, true)
    const aversion = view.getInt32(pos + 53, true)
    const creates = view.getInt32(pos + 57, true)
    pos += NODE_FIELDS_BYTES
    let ttlMs = 0
    let owner = 0n
    if (kind === NodeKind.TTL) { need(8); ttlMs = view.getFloat64(pos, true); pos += 8 }
    if (kind === NodeKind.EPHEMERAL) { need(8); owner = view.getBigInt64(pos, true); pos += 8 }
    const n = u32()
    assert(dataAt + n <= dataBytes, 'node data lies within the data block')
    const id = store.addAdopted(path, { data: NO_DATA, acl, czxid, mzxid, pzxid, ctime, mtime, version, aversion, creates, kind, ttlMs, owner }, adopted, dataAt, n)
    dataAt += n
    assert(id === k, 'a fresh store numbers nodes in order')
    if (k === 0) {
      assert(path === '/' && parent === NO_PARENT, 'the first node is the root')
      continue
    }
    assert(parent < k, 'a parent comes before its children')
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

/** Decodes {@link encodeTree}'s bytes in one go. Throws on corrupt input. */
export function decodeTree (bytes: Uint8Array): DecodedTree {
  const steps = decodeTreeSteps(bytes, Number.MAX_SAFE_INTEGER)
  for (;;) {
    const r = steps.next()
    if (r.done === true) return r.value
  }
}
