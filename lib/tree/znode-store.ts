/**
 * Where the tree keeps its znodes: column storage indexed by a small integer id, instead of one
 * object per znode. A million znodes are then a handful of typed arrays, two plain arrays
 * (paths, ACL references), a hash table of int32 slots (path-index.ts) and data bytes in shared
 * chunks (data-arena.ts) rather than millions of objects, boxed numbers and Set entries:
 * nothing per znode for the garbage collector to trace but its path string. Children are an intrusive doubly linked list (first child, next and previous
 * sibling), so a child costs three int32 slots instead of an entry in a per-parent Set.
 *
 * Owns: the path → id index, every stat column, data, ACL references, TTLs and ephemeral owners,
 * the sibling lists and the free list of ids. Knows nothing of ZooKeeper's rules (the DataTree
 * enforces them) and never reorders siblings on its own: a child is linked at the head of its
 * parent's list, or after a given sibling, so replicas that make the same calls in the same
 * order hold the same lists (the snapshot encodes them in that order).
 *
 * Invariants: an id is live exactly while its path maps to it; a freed id's columns are reset
 * before reuse; `numChildren(id)` is the length of its child list; ids are reused LIFO, which
 * a multi's undo relies on (see {@link ZNodeStore.add}).
 */

import { assert } from '../assert.js'
import { DataArena } from './data-arena.js'
import { PathIndex } from './path-index.js'
import { plainAllocate, type Allocate } from './allocate.js'
import { presized } from './presized.js'
import type { ACL, Stat } from './types.js'

/** What kind of node this is; decides ephemeralOwner, reaping and NOCHILDRENFOREPHEMERALS. */
export const NodeKind = { PERSISTENT: 0, EPHEMERAL: 1, CONTAINER: 2, TTL: 3 } as const
/** One of {@link NodeKind}'s values. */
export type NodeKindValue = typeof NodeKind[keyof typeof NodeKind]

/** "No node" in the sibling and child links. */
export const NONE = -1

// Float64 columns, interleaved per node so one node's stat sits in one cache line.
const F_CZXID = 0
const F_MZXID = 1
const F_PZXID = 2
const F_CTIME = 3
const F_MTIME = 4
const F_STRIDE = 5
// Int32 columns, interleaved likewise.
const I_VERSION = 0
const I_AVERSION = 1
/** C: children ever created under this node; drives cversion and the sequential suffix. */
const I_CREATES = 2
const I_NUM_CHILDREN = 3
const I_FIRST_CHILD = 4
const I_NEXT = 5
const I_PREV = 6
/** Where the node's data sits in the arena. */
const I_DATA_CHUNK = 7
const I_DATA_OFFSET = 8
const I_DATA_LENGTH = 9
const I_STRIDE = 10

const INITIAL_CAPACITY = 64

/** The fields a new znode starts with; the rest (counts, links) start at zero/none. */
export interface NewZNode {
  /** Copied in: the caller may reuse or drop it afterwards. */
  readonly data: Uint8Array
  readonly acl: readonly ACL[]
  readonly czxid: number
  readonly mzxid: number
  readonly pzxid: number
  readonly ctime: number
  readonly mtime: number
  readonly version: number
  readonly aversion: number
  readonly creates: number
  readonly kind: NodeKindValue
  /** The TTL of a TTL node; ignored for other kinds. */
  readonly ttlMs: number
  /** The owning session of an ephemeral; ignored for other kinds. */
  readonly owner: bigint
}

/** What encoding a snapshot reads of a store's nodes, by id: a live store and a {@link FrozenView} give it. */
export interface NodeReader {
  firstChild (id: number): number
  nextSibling (id: number): number
  path (id: number): string
  dataLength (id: number): number
  copyData (id: number, target: Uint8Array, at: number): void
  acl (id: number): readonly ACL[]
  kind (id: number): NodeKindValue
  ttlMs (id: number): number
  owner (id: number): bigint
  czxid (id: number): number
  mzxid (id: number): number
  pzxid (id: number): number
  ctime (id: number): number
  mtime (id: number): number
  version (id: number): number
  aversion (id: number): number
  creates (id: number): number
}

/** A node as a view saw it before the store changed it. */
interface SavedNode extends NewZNode {
  readonly path: string
  readonly firstChild: number
  readonly nextSibling: number
}

/**
 * The nodes of a store as they were when it was taken ({@link ZNodeStore.freeze}), read while
 * the store moves on: a node the store has not changed since is read from the store itself,
 * one it changed from what the store saved before changing it. Nothing is copied up front, so
 * taking one costs nothing, and a tree that barely changes meanwhile costs barely more memory.
 * Only nodes reachable from the root as it was are meaningful. `release()` once done.
 */
export class FrozenView implements NodeReader {
  /** 1 for an id saved in `#saved`: encoding reads some 18 fields a node, a byte beats a Map lookup. */
  readonly #changed: Uint8Array
  readonly #saved = new Map<number, SavedNode>()

  /** `ids`: how many ids the store had handed out when the view was taken. */
  constructor (private readonly live: ZNodeStore, ids: number, private readonly onRelease: (view: FrozenView) => void) {
    this.#changed = new Uint8Array(ids)
  }

  /** Whether `id` is one this view still needs saved before the store changes it. */
  needs (id: number): boolean {
    return id < this.#changed.length && this.#changed[id] === 0
  }

  /** Keeps `node` as `id` is now, before the store changes it (see {@link needs}). */
  save (id: number, node: SavedNode): void {
    this.#changed[id] = 1
    this.#saved.set(id, node)
  }

  /** Stops the store saving nodes for this view. */
  release (): void {
    this.onRelease(this)
  }

  #node (id: number): SavedNode | undefined {
    return this.#changed[id] === 1 ? this.#saved.get(id) : undefined
  }

  firstChild (id: number): number { return this.#node(id)?.firstChild ?? this.live.firstChild(id) }
  nextSibling (id: number): number { return this.#node(id)?.nextSibling ?? this.live.nextSibling(id) }
  path (id: number): string { return this.#node(id)?.path ?? this.live.path(id) }
  dataLength (id: number): number { return this.#node(id)?.data.length ?? this.live.dataLength(id) }
  copyData (id: number, target: Uint8Array, at: number): void {
    const saved = this.#node(id)
    if (saved === undefined) this.live.copyData(id, target, at)
    else target.set(saved.data, at)
  }

  acl (id: number): readonly ACL[] { return this.#node(id)?.acl ?? this.live.acl(id) }
  kind (id: number): NodeKindValue { return this.#node(id)?.kind ?? this.live.kind(id) }
  ttlMs (id: number): number { return this.#node(id)?.ttlMs ?? this.live.ttlMs(id) }
  owner (id: number): bigint { return this.#node(id)?.owner ?? this.live.owner(id) }
  czxid (id: number): number { return this.#node(id)?.czxid ?? this.live.czxid(id) }
  mzxid (id: number): number { return this.#node(id)?.mzxid ?? this.live.mzxid(id) }
  pzxid (id: number): number { return this.#node(id)?.pzxid ?? this.live.pzxid(id) }
  ctime (id: number): number { return this.#node(id)?.ctime ?? this.live.ctime(id) }
  mtime (id: number): number { return this.#node(id)?.mtime ?? this.live.mtime(id) }
  version (id: number): number { return this.#node(id)?.version ?? this.live.version(id) }
  aversion (id: number): number { return this.#node(id)?.aversion ?? this.live.aversion(id) }
  creates (id: number): number { return this.#node(id)?.creates ?? this.live.creates(id) }
}

/** Column storage of znodes; see the module comment. Ids are only meaningful to one store. */
export class ZNodeStore implements NodeReader {
  #index = new PathIndex()
  #arena = new DataArena()
  /** Interned ACL lists (the DataTree's AclTable), shared by reference. */
  #acls: Array<readonly ACL[]> = []
  #f64: Float64Array = new Float64Array(INITIAL_CAPACITY * F_STRIDE)
  #i32: Int32Array = new Int32Array(INITIAL_CAPACITY * I_STRIDE)
  #kind: Uint8Array = new Uint8Array(INITIAL_CAPACITY)
  readonly #ttlMs = new Map<number, number>()
  readonly #owner = new Map<number, bigint>()
  /** Freed ids, reused last-freed first. */
  readonly #free: number[] = []
  /** Ids handed out so far (live or freed); the columns hold at least this many. */
  #used = 0
  /** Views taken and not released (see {@link freeze}); usually none. */
  readonly #views: FrozenView[] = []

  /** Number of live znodes. */
  get size (): number {
    return this.#index.size
  }

  /** Bytes of replaced or removed data not yet reclaimed (the arena compacts once they outweigh the live data). */
  get dataGarbageBytes (): number {
    return this.#arena.garbageBytes
  }

  /** The id of the node at `path`, or undefined. */
  id (path: string): number | undefined {
    return this.#index.get(path)
  }

  /** Ids of the live nodes, lowest first. */
  ids (): IterableIterator<number> {
    return this.#index.ids()
  }

  /**
   * Adds a node at `path` (which must be free) and returns its id, unlinked: the caller links
   * it under its parent with {@link link}. Takes the most recently freed id, so undoing a
   * removal (LIFO, after undoing everything since) gets the removed node's id back.
   */
  add (path: string, n: NewZNode): number {
    const id = this.#place(path, n)
    const i32 = this.#i32
    const i = id * I_STRIDE
    i32[i + I_DATA_OFFSET] = this.#arena.append(n.data)
    i32[i + I_DATA_CHUNK] = this.#arena.lastChunk
    i32[i + I_DATA_LENGTH] = n.data.length
    return id
  }

  /**
   * Takes `bytes` into the data arena as one piece of its own, without copying, for
   * {@link addAdopted} to point nodes into; returns the piece's handle. The caller may still
   * fill `bytes` until the first node points into them, and must never change them after.
   */
  adoptData (bytes: Buffer): number {
    return this.#arena.adopt(bytes)
  }

  /**
   * {@link add}, with the node's data already in the store: `length` bytes at `offset` of the
   * piece `adopted` returned by {@link adoptData}. `n.data` is ignored. Bytes of a piece that
   * no node points to are never reclaimed: point every byte at one node.
   */
  addAdopted (path: string, n: NewZNode, adopted: number, offset: number, length: number): number {
    const id = this.#place(path, n)
    const i32 = this.#i32
    const i = id * I_STRIDE
    i32[i + I_DATA_OFFSET] = offset
    i32[i + I_DATA_CHUNK] = adopted
    i32[i + I_DATA_LENGTH] = length
    return id
  }

  /** Everything of {@link add} but the data. */
  #place (path: string, n: NewZNode): number {
    // No #keep: an id freed before a view was taken is in no view, one freed since was kept then.
    const id = this.#free.length > 0 ? this.#free.pop()! : this.#grow()
    this.#index.set(path, id)
    this.#acls[id] = n.acl
    const f = id * F_STRIDE
    const f64 = this.#f64
    f64[f + F_CZXID] = n.czxid
    f64[f + F_MZXID] = n.mzxid
    f64[f + F_PZXID] = n.pzxid
    f64[f + F_CTIME] = n.ctime
    f64[f + F_MTIME] = n.mtime
    const i = id * I_STRIDE
    const i32 = this.#i32
    i32[i + I_VERSION] = n.version
    i32[i + I_AVERSION] = n.aversion
    i32[i + I_CREATES] = n.creates
    i32[i + I_NUM_CHILDREN] = 0
    i32[i + I_FIRST_CHILD] = NONE
    i32[i + I_NEXT] = NONE
    i32[i + I_PREV] = NONE
    this.#kind[id] = n.kind
    if (n.kind === NodeKind.TTL) this.#ttlMs.set(id, n.ttlMs)
    if (n.kind === NodeKind.EPHEMERAL) this.#owner.set(id, n.owner)
    return id
  }

  /** Removes an unlinked, childless node and frees its id. */
  remove (id: number): void {
    assert(this.numChildren(id) === 0, 'only childless nodes are removed')
    this.#keep(id)
    this.#index.delete(id)
    this.#releaseData(id)
    this.#ttlMs.delete(id)
    this.#owner.delete(id)
    this.#free.push(id)
  }

  /**
   * Makes room for `count` live nodes at once (a snapshot being decoded), so the columns grow
   * once, in memory from `allocate`. They get room for as many again: the log replayed after a
   * snapshot then never has them copied (a copy of a million nodes' columns costs a fresh
   * 80 MB), while the spare room, zeroed memory never written, takes no resident memory.
   */
  reserve (count: number, allocate: Allocate = plainAllocate): void {
    if (count > this.#kind.length) this.#resize(2 * count, allocate, count)
    this.#index.reserve(count, allocate)
    if (count > this.#acls.length) this.#acls = presized(this.#acls, count) as Array<readonly ACL[]>
  }

  /** Drops the node's data (its length becomes 0, so a compaction meanwhile skips it). */
  #releaseData (id: number): void {
    this.#keep(id)
    const at = id * I_STRIDE + I_DATA_LENGTH
    this.#arena.release(this.#i32[at]!)
    this.#i32[at] = 0
    if (this.#arena.wantsCompaction()) this.#compactData()
  }

  /**
   * Copies the live data into a fresh arena: O(live bytes), once garbage outweighs them. Views
   * handed out earlier keep the old chunks alive and keep reading the same bytes.
   */
  #compactData (): void {
    const old = this.#arena
    const fresh = new DataArena()
    const i32 = this.#i32
    for (const id of this.#index.ids()) {
      const i = id * I_STRIDE
      const length = i32[i + I_DATA_LENGTH]!
      i32[i + I_DATA_OFFSET] = fresh.append(old.view(i32[i + I_DATA_CHUNK]!, i32[i + I_DATA_OFFSET]!, length))
      i32[i + I_DATA_CHUNK] = fresh.lastChunk
    }
    assert(fresh.liveBytes === old.liveBytes, 'a compaction moves every live byte')
    this.#arena = fresh
  }

  #grow (): number {
    const id = this.#used++
    if (id >= this.#kind.length) this.#resize(this.#kind.length * 2)
    return id
  }

  /** Moves the columns to room for `capacity` nodes, of which the first `willFill` are about to be written. */
  #resize (capacity: number, allocate: Allocate = plainAllocate, willFill = this.#used): void {
    const f64 = new Float64Array(allocate(capacity * F_STRIDE * 8, willFill * F_STRIDE * 8))
    f64.set(this.#f64)
    this.#f64 = f64
    const i32 = new Int32Array(allocate(capacity * I_STRIDE * 4, willFill * I_STRIDE * 4))
    i32.set(this.#i32)
    this.#i32 = i32
    const kind = new Uint8Array(allocate(capacity, willFill))
    kind.set(this.#kind)
    this.#kind = kind
  }

  /**
   * Links `child` into `parent`'s children: right after `after`, or first when `after` is
   * {@link NONE}. Counts the child; touches no stat field.
   */
  link (parent: number, child: number, after: number = NONE): void {
    const i32 = this.#i32
    const next = after === NONE ? i32[parent * I_STRIDE + I_FIRST_CHILD]! : i32[after * I_STRIDE + I_NEXT]!
    // A view reads first children and next siblings, not previous ones; `child` is new, or was
    // kept when it was unlinked.
    this.#keep(parent)
    if (after !== NONE) this.#keep(after)
    i32[child * I_STRIDE + I_PREV] = after
    i32[child * I_STRIDE + I_NEXT] = next
    if (after === NONE) i32[parent * I_STRIDE + I_FIRST_CHILD] = child
    else i32[after * I_STRIDE + I_NEXT] = child
    if (next !== NONE) i32[next * I_STRIDE + I_PREV] = child
    i32[parent * I_STRIDE + I_NUM_CHILDREN]!++
  }

  /** Unlinks `child` from `parent` and returns the sibling it followed ({@link NONE} if first), for {@link link} to undo. */
  unlink (parent: number, child: number): number {
    const i32 = this.#i32
    const prev = i32[child * I_STRIDE + I_PREV]!
    const next = i32[child * I_STRIDE + I_NEXT]!
    this.#keep(parent)
    this.#keep(child)
    if (prev !== NONE) this.#keep(prev)
    if (prev === NONE) {
      assert(i32[parent * I_STRIDE + I_FIRST_CHILD] === child, 'a first child is its parent\'s first')
      i32[parent * I_STRIDE + I_FIRST_CHILD] = next
    } else {
      i32[prev * I_STRIDE + I_NEXT] = next
    }
    if (next !== NONE) i32[next * I_STRIDE + I_PREV] = prev
    i32[child * I_STRIDE + I_PREV] = NONE
    i32[child * I_STRIDE + I_NEXT] = NONE
    i32[parent * I_STRIDE + I_NUM_CHILDREN]!--
    return prev
  }

  /** First child of `id`, or {@link NONE}. */
  firstChild (id: number): number { return this.#i32[id * I_STRIDE + I_FIRST_CHILD]! }
  /** Next sibling of `id`, or {@link NONE}. */
  nextSibling (id: number): number { return this.#i32[id * I_STRIDE + I_NEXT]! }
  /** Number of children now. */
  numChildren (id: number): number { return this.#i32[id * I_STRIDE + I_NUM_CHILDREN]! }

  /** The node's full path. */
  path (id: number): string {
    const p = this.#index.path(id)
    assert(p !== undefined, 'a live node has a path')
    return p
  }

  /** The node's data, as a view that stays valid and unchanged, but must never be written. */
  dataView (id: number): Buffer {
    const i = id * I_STRIDE
    const i32 = this.#i32
    return this.#arena.view(i32[i + I_DATA_CHUNK]!, i32[i + I_DATA_OFFSET]!, i32[i + I_DATA_LENGTH]!)
  }

  /** Copies the node's data to `target` at `at`. */
  copyData (id: number, target: Uint8Array, at: number): void {
    const i = id * I_STRIDE
    const i32 = this.#i32
    this.#arena.copyOut(i32[i + I_DATA_CHUNK]!, i32[i + I_DATA_OFFSET]!, i32[i + I_DATA_LENGTH]!, target, at)
  }

  /** Bytes of the node's data. */
  dataLength (id: number): number { return this.#i32[id * I_STRIDE + I_DATA_LENGTH]! }

  /** Replaces the node's data with a copy of `data`. */
  setData (id: number, data: Uint8Array): void {
    this.#releaseData(id)
    const i = id * I_STRIDE
    const i32 = this.#i32
    i32[i + I_DATA_OFFSET] = this.#arena.append(data)
    i32[i + I_DATA_CHUNK] = this.#arena.lastChunk
    i32[i + I_DATA_LENGTH] = data.length
  }
  acl (id: number): readonly ACL[] { return this.#acls[id]! }
  setAcl (id: number, acl: readonly ACL[]): void { this.#keep(id); this.#acls[id] = acl }
  kind (id: number): NodeKindValue { return this.#kind[id] as NodeKindValue }
  ttlMs (id: number): number { return this.#ttlMs.get(id) ?? 0 }
  owner (id: number): bigint { return this.#owner.get(id) ?? 0n }

  czxid (id: number): number { return this.#f64[id * F_STRIDE + F_CZXID]! }
  mzxid (id: number): number { return this.#f64[id * F_STRIDE + F_MZXID]! }
  setMzxid (id: number, zxid: number): void { this.#keep(id); this.#f64[id * F_STRIDE + F_MZXID] = zxid }
  pzxid (id: number): number { return this.#f64[id * F_STRIDE + F_PZXID]! }
  setPzxid (id: number, zxid: number): void { this.#keep(id); this.#f64[id * F_STRIDE + F_PZXID] = zxid }
  ctime (id: number): number { return this.#f64[id * F_STRIDE + F_CTIME]! }
  mtime (id: number): number { return this.#f64[id * F_STRIDE + F_MTIME]! }
  setMtime (id: number, ms: number): void { this.#keep(id); this.#f64[id * F_STRIDE + F_MTIME] = ms }
  version (id: number): number { return this.#i32[id * I_STRIDE + I_VERSION]! }
  setVersion (id: number, v: number): void { this.#keep(id); this.#i32[id * I_STRIDE + I_VERSION] = v }
  aversion (id: number): number { return this.#i32[id * I_STRIDE + I_AVERSION]! }
  setAversion (id: number, v: number): void { this.#keep(id); this.#i32[id * I_STRIDE + I_AVERSION] = v }
  creates (id: number): number { return this.#i32[id * I_STRIDE + I_CREATES]! }
  setCreates (id: number, c: number): void { this.#keep(id); this.#i32[id * I_STRIDE + I_CREATES] = c }

  /**
   * A view of the nodes as they are now, to encode a snapshot from while this store moves on
   * (see {@link FrozenView}). Until it is released, this store saves each node it changes for
   * the first time since, before changing it.
   */
  freeze (): FrozenView {
    const view = new FrozenView(this, this.#used, (v) => {
      const at = this.#views.indexOf(v)
      if (at >= 0) this.#views.splice(at, 1)
    })
    this.#views.push(view)
    return view
  }

  /** Called before a change to anything of `id` a view reads: a view that still reads it from this store keeps it as it is. */
  #keep (id: number): void {
    if (this.#views.length === 0) return
    for (const view of this.#views) {
      if (!view.needs(id)) continue
      view.save(id, { ...this.fields(id), path: this.path(id), firstChild: this.firstChild(id), nextSibling: this.nextSibling(id) })
    }
  }

  /** Everything {@link add} needs to recreate the node as it is now (to undo its removal). */
  fields (id: number): NewZNode {
    return {
      data: this.dataView(id), acl: this.acl(id), czxid: this.czxid(id), mzxid: this.mzxid(id), pzxid: this.pzxid(id),
      ctime: this.ctime(id), mtime: this.mtime(id), version: this.version(id), aversion: this.aversion(id),
      creates: this.creates(id), kind: this.kind(id), ttlMs: this.ttlMs(id), owner: this.owner(id),
    }
  }

  /**
   * The Stat clients see: cversion is 2·C − numChildren (creates plus deletes), wrapped to 32
   * bits as ZooKeeper's int arithmetic would; ephemeralOwner is non-zero only for plain
   * ephemerals (containers and TTL nodes report 0, ZK-SEMANTICS §1).
   */
  stat (id: number): Stat {
    const f = id * F_STRIDE
    const i = id * I_STRIDE
    const f64 = this.#f64
    const i32 = this.#i32
    const numChildren = i32[i + I_NUM_CHILDREN]!
    return {
      czxid: f64[f + F_CZXID]!,
      mzxid: f64[f + F_MZXID]!,
      pzxid: f64[f + F_PZXID]!,
      ctime: f64[f + F_CTIME]!,
      mtime: f64[f + F_MTIME]!,
      version: i32[i + I_VERSION]!,
      cversion: (2 * i32[i + I_CREATES]! - numChildren) | 0,
      aversion: i32[i + I_AVERSION]!,
      ephemeralOwner: this.#kind[id] === NodeKind.EPHEMERAL ? this.owner(id) : 0n,
      dataLength: i32[i + I_DATA_LENGTH]!,
      numChildren,
    }
  }
}
