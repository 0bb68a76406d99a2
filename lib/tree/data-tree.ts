/**
 * The znode tree: a pure, deterministic state machine (ZK-SEMANTICS §1–§6). It owns every
 * znode, the indexes over them (ephemerals by session, containers, TTL nodes) and the ACL
 * intern table, and changes only through {@link DataTree.apply}. No I/O, no clock, no
 * randomness: zxid, time and session come in with each txn, so replicas that apply the same
 * txns hold equal trees.
 *
 * Invariants: every node but `/` has its parent in the store and is in the parent's child
 * list; a plain ephemeral has no children; the indexes hold exactly
 * the nodes of their kind. A failed op or multi leaves all of this untouched (multi undoes its
 * tentative changes in reverse order).
 */

// Imported, not the global: in ES modules Node's global Buffer is a getter, called on every use.
import { Buffer } from 'node:buffer'
import { assert, unreachable } from '../assert.js'
import { badArguments, Codes, ZkError, type ErrorCode, type OpErrorResult } from '../errors.js'
import { aclForReader, checkAcl, fixupAcl } from './acl.js'
import { AclTable } from './acl-table.js'
import { pathProblem, parentOf, validatePath } from './path.js'
import type { Allocate } from './allocate.js'
import { decodeTree, encodeTree, encodeTreeSteps, TreeDecoder, type DecodedTree, type EncodeProgress, type StreamDecoder } from './snapshot.js'
import type { ApplyContext, ApplyResult, TreeTxn } from './txn.js'
import { CreateMode, Ids, Perms, type ACL, type Id, type OpResult, type Stat, type TreeChange, type WriteOp } from './types.js'
import { NONE, NodeKind, ZNodeStore, type NewZNode, type NodeKindValue } from './znode-store.js'

/** Largest TTL ZooKeeper can encode (2⁴⁰−1 ms). */
export const MAX_TTL_MS = 2 ** 40 - 1
/** The create counter C is a signed 32-bit int in ZooKeeper; a create that would pass it is refused. */
export const MAX_CREATES = 2 ** 31 - 1

const NO_DATA = new Uint8Array(0)
/** Paths that can never be deleted (§1). */
const undeletable = new Set(['/', '/zookeeper', '/zookeeper/quota', '/zookeeper/config'])
const sequentialModes = new Set<number>([CreateMode.PERSISTENT_SEQUENTIAL, CreateMode.EPHEMERAL_SEQUENTIAL, CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL])
const ttlModes = new Set<number>([CreateMode.PERSISTENT_WITH_TTL, CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL])

function kindOfMode (mode: number): NodeKindValue {
  switch (mode) {
    case CreateMode.EPHEMERAL: case CreateMode.EPHEMERAL_SEQUENTIAL: return NodeKind.EPHEMERAL
    case CreateMode.CONTAINER: return NodeKind.CONTAINER
    case CreateMode.PERSISTENT_WITH_TTL: case CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL: return NodeKind.TTL
    default: return NodeKind.PERSISTENT
  }
}

function isVersion (v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31
}

/**
 * True when the ACL's first entry grants READ to world:anyone, as the default ACL does: then
 * every session may read, whatever its ids. Otherwise checkAcl decides.
 */
function everyoneReads (acl: readonly ACL[]): boolean {
  const first = acl[0]
  return first !== undefined && (first.perms & Perms.READ) !== 0 && first.id.scheme === 'world' && first.id.id === 'anyone'
}

function errorResult (code: ErrorCode): OpErrorResult {
  return { type: 'error', rc: Codes[code], code }
}

/** The znode tree. See the module comment for its invariants. */
export class DataTree {
  #nodes = new ZNodeStore()
  readonly #acls = new AclTable()
  /** Plain ephemerals by owning session. */
  readonly #ephemerals = new Map<bigint, Set<string>>()
  readonly #containers = new Set<string>()
  readonly #ttls = new Set<string>()
  /** Inverse actions of the current multi, newest last; null outside a multi. */
  #undo: Array<() => void> | null = null
  /** Changes made by the txn being applied, in order. */
  #changes: TreeChange[] = []
  /**
   * The last stored ACL list found to grant READ to everyone. Stored lists are interned and
   * never changed in place, so a list's verdict is fixed; a read of a node with this list then
   * skips looking into it (V8 does not inline element loads from the frozen interned arrays).
   */
  #readableByAll: readonly ACL[] | undefined

  /**
   * A fresh tree with ZooKeeper's system nodes (§1): `/` (one child, reported cversion −1),
   * `/zookeeper` (reported cversion −2), `/zookeeper/quota`, and `/zookeeper/config` (ACL
   * world:anyone READ, aversion −1). Every other stat field is 0, all data empty.
   */
  constructor () {
    const nodes = this.#nodes
    const system = (path: string, acl: readonly ACL[], aversion: number): number => nodes.add(path, {
      data: NO_DATA, acl: this.#acls.intern(acl), czxid: 0, mzxid: 0, pzxid: 0, ctime: 0, mtime: 0,
      version: 0, aversion, creates: 0, kind: NodeKind.PERSISTENT, ttlMs: 0, owner: 0n,
    })
    const root = system('/', Ids.OPEN_ACL_UNSAFE, 0)
    const zookeeper = system('/zookeeper', Ids.OPEN_ACL_UNSAFE, 0)
    nodes.link(root, zookeeper)
    // Linked last first, so the list reads quota, config (each link goes to the head).
    nodes.link(zookeeper, system('/zookeeper/config', Ids.READ_ACL_UNSAFE, -1))
    nodes.link(zookeeper, system('/zookeeper/quota', Ids.OPEN_ACL_UNSAFE, 0))
  }

  // ---------------------------------------------------------------- writes

  /**
   * Applies one replicated txn at `ctx.zxid` / `ctx.timeMs`. Never throws for a data-dependent
   * failure: the verdict (and any error) is a value, identical on every replica, and a failed
   * txn changes nothing. A multi shares one zxid and time among its ops, evaluates them in order
   * against the effects of the earlier ones and stops at the first failure. `closeSession`
   * deletes all of the session's ephemerals (sorted by path, for determinism). `reap` deletes
   * an empty container or TTL node without ACL or version checks.
   */
  apply (txn: TreeTxn, ctx: ApplyContext): ApplyResult {
    this.#changes = []
    switch (txn.kind) {
      case 'op': {
        // Every single op checks everything before it mutates, so no undo log is needed.
        const r = this.#applyOp(txn.op, ctx)
        if (r instanceof ZkError) return { ok: false, error: r }
        return { ok: true, results: [r], changes: this.#takeChanges() }
      }
      case 'multi': return this.#applyMulti(txn.ops, ctx)
      case 'closeSession': {
        const mine = this.#ephemerals.get(txn.sessionId)
        for (const path of mine === undefined ? [] : [...mine].sort()) this.#removeNode(path, ctx.zxid)
        return { ok: true, results: [], changes: this.#takeChanges() }
      }
      case 'reap': {
        const r = this.#reap(txn.path, ctx)
        if (r instanceof ZkError) return { ok: false, error: r }
        return { ok: true, results: [r], changes: this.#takeChanges() }
      }
      default: return unreachable(txn, 'unknown txn kind')
    }
  }

  #takeChanges (): TreeChange[] {
    const changes = this.#changes
    this.#changes = []
    return changes
  }

  #applyMulti (ops: readonly WriteOp[], ctx: ApplyContext): ApplyResult {
    const undo: Array<() => void> = []
    this.#undo = undo
    try {
      const results: OpResult[] = []
      for (let i = 0; i < ops.length; i++) {
        const r = this.#applyOp(ops[i]!, ctx)
        if (r instanceof ZkError) {
          for (let j = undo.length - 1; j >= 0; j--) undo[j]!()
          this.#changes = []
          const all = ops.map((_, j) => errorResult(j < i ? 'OK' : j === i ? r.code : 'RUNTIMEINCONSISTENCY'))
          r.results = all
          return { ok: false, error: r, results: all }
        }
        results.push(r)
      }
      return { ok: true, results, changes: this.#takeChanges() }
    } finally {
      this.#undo = null
    }
  }

  #applyOp (op: WriteOp, ctx: ApplyContext): OpResult | ZkError {
    switch (op.op) {
      case 'create': return this.#create(op, ctx)
      case 'delete': return this.#delete(op, ctx)
      case 'setData': return this.#setData(op, ctx)
      case 'setACL': return this.#setAcl(op, ctx)
      case 'check': return this.#check(op, ctx)
      default: return badArguments(`unknown op '${String((op as { op: unknown }).op)}'`)
    }
  }

  /** Create, in prep's order (§3): mode/ttl/path/data → INVALIDACL → NONODE(parent) → NOAUTH → NODEEXISTS → NOCHILDRENFOREPHEMERALS. */
  #create (op: Extract<WriteOp, { op: 'create' }>, ctx: ApplyContext): OpResult | ZkError {
    const { path, mode } = op
    if (typeof mode !== 'number' || !Number.isInteger(mode) || mode < 0 || mode > 6) return badArguments(`unknown create mode ${String(mode)}`, path)
    if (ttlModes.has(mode)) {
      if (typeof op.ttlMs !== 'number' || !Number.isInteger(op.ttlMs) || op.ttlMs <= 0 || op.ttlMs > MAX_TTL_MS) {
        return badArguments(`a TTL mode needs ttlMs, an integer in 1..${MAX_TTL_MS}`, path)
      }
    } else if (op.ttlMs !== undefined) {
      return badArguments('ttlMs is only allowed with the TTL modes', path)
    }
    const sequential = sequentialModes.has(mode)
    const problem = pathProblem(sequential && typeof path === 'string' ? path + '1' : path)
    if (problem !== undefined) return badArguments(problem, typeof path === 'string' ? path : undefined)
    if (!(op.data instanceof Uint8Array)) return badArguments('data must be a Uint8Array', path)
    const kind = kindOfMode(mode)
    if (kind === NodeKind.EPHEMERAL && ctx.sessionId === 0n) return badArguments('an ephemeral node needs an owning session', path)
    const acl = fixupAcl(op.acl, ctx.authIds, path)
    if (acl instanceof ZkError) return acl
    if (!sequential && path === '/') return new ZkError('NODEEXISTS', 'the root always exists', path)
    const nodes = this.#nodes
    const parentPath = parentOf(sequential ? path + '1' : path)
    const parent = nodes.id(parentPath)
    if (parent === undefined) return new ZkError('NONODE', `parent ${parentPath} does not exist`, path)
    if (!checkAcl(nodes.acl(parent), Perms.CREATE, ctx.authIds)) return new ZkError('NOAUTH', `no CREATE permission on ${parentPath}`, path)
    const creates = nodes.creates(parent)
    if (creates >= MAX_CREATES) {
      return badArguments(`${parentPath} has had 2^31-1 children created; its create counter (cversion, sequence numbers) cannot advance`, path)
    }
    const finalPath = sequential ? path + String(creates).padStart(10, '0') : path
    if (nodes.id(finalPath) !== undefined) return new ZkError('NODEEXISTS', undefined, finalPath)
    if (nodes.kind(parent) === NodeKind.EPHEMERAL) return new ZkError('NOCHILDRENFOREPHEMERALS', `${parentPath} is ephemeral`, path)

    const id = this.#insertNode(finalPath, {
      data: op.data, acl: this.#acls.intern(acl), czxid: ctx.zxid, mzxid: ctx.zxid, pzxid: ctx.zxid,
      ctime: ctx.timeMs, mtime: ctx.timeMs, version: 0, aversion: 0, creates: 0, kind,
      ttlMs: kind === NodeKind.TTL ? op.ttlMs! : 0, owner: kind === NodeKind.EPHEMERAL ? ctx.sessionId : 0n,
    }, parentPath, parent)
    return { type: 'create', path: finalPath, stat: nodes.stat(id) }
  }

  /** Delete (§5): BADARGUMENTS(special) → NONODE(parent) → NOAUTH → NONODE → BADVERSION → NOTEMPTY. */
  #delete (op: Extract<WriteOp, { op: 'delete' }>, ctx: ApplyContext): OpResult | ZkError {
    const { path } = op
    const problem = pathProblem(path)
    if (problem !== undefined) return badArguments(problem, typeof path === 'string' ? path : undefined)
    if (!isVersion(op.version)) return badArguments('version must be a 32-bit integer', path)
    if (undeletable.has(path)) return badArguments('system nodes cannot be deleted', path)
    const nodes = this.#nodes
    const parentPath = parentOf(path)
    const parent = nodes.id(parentPath)
    if (parent === undefined) return new ZkError('NONODE', undefined, path)
    if (!checkAcl(nodes.acl(parent), Perms.DELETE, ctx.authIds)) return new ZkError('NOAUTH', `no DELETE permission on ${parentPath}`, path)
    const node = nodes.id(path)
    if (node === undefined) return new ZkError('NONODE', undefined, path)
    const version = nodes.version(node)
    if (op.version !== -1 && op.version !== version) return new ZkError('BADVERSION', `expected version ${op.version}, node has ${version}`, path)
    if (nodes.numChildren(node) > 0) return new ZkError('NOTEMPTY', `${nodes.numChildren(node)} children`, path)
    this.#removeNode(path, ctx.zxid)
    return { type: 'delete' }
  }

  /** setData (§5): NONODE → NOAUTH(WRITE) → BADVERSION. Identical bytes still bump version. */
  #setData (op: Extract<WriteOp, { op: 'setData' }>, ctx: ApplyContext): OpResult | ZkError {
    const node = this.#writable(op.path, op.version, Perms.WRITE, ctx)
    if (node instanceof ZkError) return node
    if (!(op.data instanceof Uint8Array)) return badArguments('data must be a Uint8Array', op.path)
    const nodes = this.#nodes
    const version = nodes.version(node)
    if (op.version !== -1 && op.version !== version) return new ZkError('BADVERSION', `expected version ${op.version}, node has ${version}`, op.path)
    // A view that stays valid: the store never writes over bytes it handed out.
    const data = nodes.dataView(node)
    const mzxid = nodes.mzxid(node)
    const mtime = nodes.mtime(node)
    this.#undo?.push(() => {
      nodes.setData(node, data)
      nodes.setVersion(node, version)
      nodes.setMzxid(node, mzxid)
      nodes.setMtime(node, mtime)
    })
    nodes.setData(node, op.data)
    nodes.setVersion(node, (version + 1) | 0) // Java int arithmetic: wraps after 2^31 updates
    nodes.setMzxid(node, ctx.zxid)
    nodes.setMtime(node, ctx.timeMs)
    this.#changes.push({ type: 'NodeDataChanged', path: op.path, acl: nodes.acl(node) })
    return { type: 'setData', stat: nodes.stat(node) }
  }

  /** setACL (§5): INVALIDACL → NONODE → NOAUTH(ADMIN) → BADVERSION on aversion. Fires no watch. */
  #setAcl (op: Extract<WriteOp, { op: 'setACL' }>, ctx: ApplyContext): OpResult | ZkError {
    const problem = pathProblem(op.path)
    if (problem !== undefined) return badArguments(problem, typeof op.path === 'string' ? op.path : undefined)
    if (!isVersion(op.version)) return badArguments('version must be a 32-bit integer', op.path)
    const acl = fixupAcl(op.acl, ctx.authIds, op.path)
    if (acl instanceof ZkError) return acl
    const nodes = this.#nodes
    const node = nodes.id(op.path)
    if (node === undefined) return new ZkError('NONODE', undefined, op.path)
    const old = nodes.acl(node)
    const oldAversion = nodes.aversion(node)
    if (!checkAcl(old, Perms.ADMIN, ctx.authIds)) return new ZkError('NOAUTH', 'no ADMIN permission', op.path)
    if (op.version !== -1 && op.version !== oldAversion) return new ZkError('BADVERSION', `expected aversion ${op.version}, node has ${oldAversion}`, op.path)
    const now = this.#acls.intern(acl)
    nodes.setAcl(node, now)
    this.#acls.release(old)
    nodes.setAversion(node, (oldAversion + 1) | 0)
    this.#undo?.push(() => {
      this.#acls.retain(old)
      this.#acls.release(now)
      nodes.setAcl(node, old)
      nodes.setAversion(node, oldAversion)
    })
    return { type: 'setACL', stat: nodes.stat(node) }
  }

  /** check (§6): NONODE → NOAUTH(READ) → BADVERSION; version −1 only tests existence. */
  #check (op: Extract<WriteOp, { op: 'check' }>, ctx: ApplyContext): OpResult | ZkError {
    const node = this.#writable(op.path, op.version, Perms.READ, ctx)
    if (node instanceof ZkError) return node
    const version = this.#nodes.version(node)
    if (op.version !== -1 && op.version !== version) return new ZkError('BADVERSION', `expected version ${op.version}, node has ${version}`, op.path)
    return { type: 'check' }
  }

  /** Shared prefix of setData and check: path, version shape, NONODE, then the ACL. */
  #writable (path: string, version: number, perm: number, ctx: ApplyContext): number | ZkError {
    const problem = pathProblem(path)
    if (problem !== undefined) return badArguments(problem, typeof path === 'string' ? path : undefined)
    if (!isVersion(version)) return badArguments('version must be a 32-bit integer', path)
    const node = this.#nodes.id(path)
    if (node === undefined) return new ZkError('NONODE', undefined, path)
    if (!checkAcl(this.#nodes.acl(node), perm, ctx.authIds)) return new ZkError('NOAUTH', `no ${perm === Perms.WRITE ? 'WRITE' : 'READ'} permission`, path)
    return node
  }

  /**
   * ZooKeeper's deleteContainer (§3): NONODE, NOTEMPTY, and BADVERSION for a plain ephemeral.
   * Deliberately stricter than ZooKeeper: a persistent node also gets BADVERSION, so a reap
   * racing with a delete-and-recreate of the same path as a persistent node cannot delete it.
   */
  #reap (path: string, ctx: ApplyContext): OpResult | ZkError {
    const problem = pathProblem(path)
    if (problem !== undefined) return badArguments(problem, typeof path === 'string' ? path : undefined)
    if (undeletable.has(path)) return badArguments('system nodes cannot be deleted', path)
    const nodes = this.#nodes
    const node = nodes.id(path)
    if (node === undefined) return new ZkError('NONODE', undefined, path)
    if (nodes.numChildren(node) > 0) return new ZkError('NOTEMPTY', `${nodes.numChildren(node)} children`, path)
    const kind = nodes.kind(node)
    if (kind !== NodeKind.CONTAINER && kind !== NodeKind.TTL) return new ZkError('BADVERSION', 'only containers and TTL nodes are reaped', path)
    this.#removeNode(path, ctx.zxid)
    return { type: 'delete' }
  }

  // ------------------------------------------------------- mutation primitives (undoable)

  /** Adds a node under `parent` (first in its child list) and returns its id. */
  #insertNode (path: string, fields: NewZNode, parentPath: string, parent: number): number {
    const nodes = this.#nodes
    const pzxid = nodes.pzxid(parent)
    const id = nodes.add(path, fields)
    nodes.link(parent, id)
    nodes.setCreates(parent, nodes.creates(parent) + 1)
    nodes.setPzxid(parent, fields.czxid)
    this.#index(path, fields.kind, fields.owner)
    this.#changes.push({ type: 'NodeCreated', path, acl: fields.acl }, { type: 'NodeChildrenChanged', path: parentPath, acl: nodes.acl(parent) })
    this.#undo?.push(() => {
      this.#unindex(path, fields.kind, fields.owner)
      this.#acls.release(fields.acl)
      nodes.unlink(parent, id)
      nodes.remove(id)
      nodes.setCreates(parent, nodes.creates(parent) - 1)
      nodes.setPzxid(parent, pzxid)
    })
    return id
  }

  /** Deletes an existing childless node; the caller has done every check. */
  #removeNode (path: string, zxid: number): void {
    const nodes = this.#nodes
    const node = nodes.id(path)
    assert(node !== undefined, 'only existing nodes are removed')
    assert(nodes.numChildren(node) === 0, 'only childless nodes are removed')
    const parentPath = parentOf(path)
    const parent = nodes.id(parentPath)
    assert(parent !== undefined, 'a node\'s parent exists')
    const pzxid = nodes.pzxid(parent)
    const fields = nodes.fields(node)
    const after = nodes.unlink(parent, node)
    nodes.remove(node)
    nodes.setPzxid(parent, zxid)
    this.#unindex(path, fields.kind, fields.owner)
    this.#acls.release(fields.acl)
    this.#changes.push({ type: 'NodeDeleted', path, acl: fields.acl }, { type: 'NodeChildrenChanged', path: parentPath, acl: nodes.acl(parent) })
    this.#undo?.push(() => {
      this.#acls.retain(fields.acl)
      this.#index(path, fields.kind, fields.owner)
      // Undo runs newest first, so the freed id is the store's next and the old neighbours are back.
      const again = nodes.add(path, fields)
      assert(again === node, 'an undone removal gets its id back')
      nodes.link(parent, node, after)
      nodes.setPzxid(parent, pzxid)
    })
  }

  #index (path: string, kind: NodeKindValue, owner: bigint): void {
    switch (kind) {
      case NodeKind.EPHEMERAL: {
        let mine = this.#ephemerals.get(owner)
        if (mine === undefined) this.#ephemerals.set(owner, mine = new Set())
        mine.add(path)
        break
      }
      case NodeKind.CONTAINER: this.#containers.add(path); break
      case NodeKind.TTL: this.#ttls.add(path); break
      case NodeKind.PERSISTENT: break
      default: unreachable(kind, 'unknown node kind')
    }
  }

  #unindex (path: string, kind: NodeKindValue, owner: bigint): void {
    switch (kind) {
      case NodeKind.EPHEMERAL: {
        const mine = this.#ephemerals.get(owner)
        assert(mine?.delete(path) === true, 'an ephemeral is indexed under its owner')
        if (mine.size === 0) this.#ephemerals.delete(owner)
        break
      }
      case NodeKind.CONTAINER: this.#containers.delete(path); break
      case NodeKind.TTL: this.#ttls.delete(path); break
      case NodeKind.PERSISTENT: break
      default: unreachable(kind, 'unknown node kind')
    }
  }

  // ---------------------------------------------------------------- reads

  /** The node at a valid path after the ACL check (`perm` includes READ); throws BADARGUMENTS, NONODE or NOAUTH. */
  #readable (path: string, perm: number, authIds: readonly Id[]): number {
    // Every stored path was validated when its node was created, so only a miss needs the
    // check (to tell a malformed path from a missing node); hot reads skip it.
    const node = this.#nodes.id(path)
    if (node === undefined) {
      validatePath(path)
      throw new ZkError('NONODE', undefined, path)
    }
    if (!this.#mayRead(this.#nodes.acl(node), perm, authIds)) throw new ZkError('NOAUTH', undefined, path)
    return node
  }

  /** checkAcl for a `perm` that includes READ, answered at once for lists readable by all. */
  #mayRead (acl: readonly ACL[], perm: number, authIds: readonly Id[]): boolean {
    if (acl === this.#readableByAll) return true
    if (everyoneReads(acl)) {
      this.#readableByAll = acl
      return true
    }
    return checkAcl(acl, perm, authIds)
  }

  /** A node's data (a fresh copy) and stat. Needs READ; throws NONODE / NOAUTH / BADARGUMENTS. */
  getData (path: string, authIds: readonly Id[]): { data: Buffer, stat: Stat } {
    const node = this.#readable(path, Perms.READ, authIds)
    return { data: Buffer.from(this.#nodes.dataView(node)), stat: this.#nodes.stat(node) }
  }

  /** A node's stat, or null when it does not exist. READ is checked only if it exists (ZOOKEEPER-2590). */
  exists (path: string, authIds: readonly Id[]): Stat | null {
    const node = this.#nodes.id(path)
    if (node === undefined) {
      validatePath(path)
      return null
    }
    if (!this.#mayRead(this.#nodes.acl(node), Perms.READ, authIds)) throw new ZkError('NOAUTH', undefined, path)
    return this.#nodes.stat(node)
  }

  /** Children's names, sorted by UTF-16 code unit. Needs READ; throws NONODE / NOAUTH. */
  getChildren (path: string, authIds: readonly Id[]): string[] {
    return this.getChildrenAndStat(path, authIds).children
  }

  /** Like {@link getChildren}, with the node's stat (ZooKeeper's getChildren2). */
  getChildrenAndStat (path: string, authIds: readonly Id[]): { children: string[], stat: Stat } {
    const node = this.#readable(path, Perms.READ, authIds)
    const nodes = this.#nodes
    const cut = path === '/' ? 1 : path.length + 1
    const children: string[] = []
    for (let c = nodes.firstChild(node); c !== NONE; c = nodes.nextSibling(c)) children.push(nodes.path(c).slice(cut))
    return { children: children.sort(), stat: nodes.stat(node) }
  }

  /**
   * A node's ACL and stat. Needs READ or ADMIN (ZooKeeper 3.7+); without ADMIN, digest ids are
   * masked as `user:x`. Throws NONODE / NOAUTH.
   */
  getACL (path: string, authIds: readonly Id[]): { acl: ACL[], stat: Stat } {
    const node = this.#readable(path, Perms.READ | Perms.ADMIN, authIds)
    return { acl: aclForReader(this.#nodes.acl(node), authIds), stat: this.#nodes.stat(node) }
  }

  /**
   * Number of descendants of `path` at any depth (ZooKeeper's getAllChildrenNumber counts every
   * node under the path, not only direct children). Needs READ. Costs O(descendants).
   */
  getAllChildrenNumber (path: string, authIds: readonly Id[]): number {
    const node = this.#readable(path, Perms.READ, authIds)
    if (path === '/') return this.#nodes.size - 1
    const nodes = this.#nodes
    let count = 0
    const stack: number[] = [node]
    while (stack.length > 0) {
      const n = stack.pop()!
      for (let c = nodes.firstChild(n); c !== NONE; c = nodes.nextSibling(c)) {
        count++
        stack.push(c)
      }
    }
    return count
  }

  /** Paths of the session's plain ephemerals starting with `prefix` (a string prefix), sorted. No ACL check. */
  getEphemerals (sessionId: bigint, prefix = '/'): string[] {
    const mine = this.#ephemerals.get(sessionId)
    return mine === undefined ? [] : [...mine].filter((p) => p.startsWith(prefix)).sort()
  }

  /** Sessions that own at least one ephemeral (for checkers: every ephemeral has a live owner). */
  ephemeralOwners (): bigint[] {
    return [...this.#ephemerals.keys()]
  }

  /** Number of znodes, the root and system nodes included (ZooKeeper's count also includes a duplicate root entry). */
  get nodeCount (): number {
    return this.#nodes.size
  }

  /**
   * Paths the leader should reap at `nowMs`, sorted: containers with no children that have had
   * one (C > 0), and TTL nodes with no children whose last setData/create is more than ttlMs
   * before `nowMs` (§3). Scans only the container and TTL indexes.
   */
  dueForReaping (nowMs: number): string[] {
    const due: string[] = []
    const nodes = this.#nodes
    for (const p of this.#containers) {
      const n = nodes.id(p)!
      if (nodes.numChildren(n) === 0 && nodes.creates(n) > 0) due.push(p)
    }
    for (const p of this.#ttls) {
      const n = nodes.id(p)!
      if (nodes.numChildren(n) === 0 && nowMs - nodes.mtime(n) > nodes.ttlMs(n)) due.push(p)
    }
    return due.sort()
  }

  // ---------------------------------------------------------------- snapshots

  /**
   * The whole tree as compact bytes (see snapshot.ts), after `prefix` (a caller's header,
   * written into the same buffer). Replicas that applied the same txns give equal bytes.
   */
  snapshot (prefix?: Uint8Array): Uint8Array {
    return encodeTree(this.#nodes, prefix)
  }

  /**
   * {@link snapshot} in steps of at most `nodesPerStep` znodes, of the tree as it is at this
   * call, while the tree may keep changing between steps (it saves what it changes meanwhile,
   * see FrozenView). Steps yield the progress of the output once it is sized (see
   * encodeTreeSteps); the last `next()` returns the bytes. The output comes from `allocate`, if
   * given. A caller that gives up early calls `return()`, so the tree stops saving for it.
   */
  snapshotSteps (nodesPerStep: number, prefix?: Uint8Array, allocate?: Allocate): Generator<EncodeProgress | undefined, Uint8Array, void> {
    const root = this.#nodes.id('/')
    assert(root !== undefined, 'a tree has a root')
    const view = this.#nodes.freeze()
    const count = this.#nodes.size
    return (function * () {
      try {
        return yield * encodeTreeSteps({ store: view, root, count, prefix, nodesPerStep, allocate })
      } finally {
        view.release()
      }
    })()
  }

  /** Rebuilds a tree, indexes and ACL table from {@link snapshot}'s bytes. Throws on corrupt input. */
  static fromSnapshot (bytes: Uint8Array): DataTree {
    return DataTree.#adopt(decodeTree(bytes))
  }

  /**
   * Like {@link fromSnapshot}, for bytes that arrive in pieces: write them in order, then
   * `finish()` returns the tree (a host yields to its event loop between pieces). The tree's
   * large buffers come from `allocate`.
   */
  static snapshotDecoder (allocate?: Allocate): StreamDecoder<DataTree> {
    const decoder = new TreeDecoder(allocate)
    return {
      write: (chunk) => { decoder.write(chunk) },
      finish: () => DataTree.#adopt(decoder.finish()),
    }
  }

  /** A tree over a decoded store: interns its ACL lists and rebuilds the kind indexes. */
  static #adopt (decoded: DecodedTree): DataTree {
    const tree = new DataTree()
    const nodes = decoded.store
    tree.#nodes = nodes
    tree.#acls.clear()
    // Decoded nodes share one array per distinct ACL: intern each once with all its uses.
    const interned = new Map<readonly ACL[], readonly ACL[]>()
    for (const [acl, uses] of decoded.aclUses) interned.set(acl, tree.#acls.intern(acl, uses))
    for (const id of nodes.ids()) {
      nodes.setAcl(id, interned.get(nodes.acl(id))!)
      const kind = nodes.kind(id)
      if (kind !== NodeKind.PERSISTENT) tree.#index(nodes.path(id), kind, nodes.owner(id))
    }
    return tree
  }

  /**
   * Checks the structural invariants over the whole tree (O(n); for tests and paranoid mode).
   * Throws AssertionError on the first violation.
   */
  checkInvariants (): void {
    const nodes = this.#nodes
    let ephemerals = 0
    let linked = 0
    for (const node of nodes.ids()) {
      const path = nodes.path(node)
      assert(nodes.id(path) === node, `${path} maps to its own id`)
      let children = 0
      for (let c = nodes.firstChild(node); c !== NONE; c = nodes.nextSibling(c)) {
        assert(parentOf(nodes.path(c)) === path, `child ${nodes.path(c)} is listed under its parent`)
        children++
      }
      assert(children === nodes.numChildren(node), `${path} counts its children`)
      linked += children
      const kind = nodes.kind(node)
      if (children > 0) assert(kind !== NodeKind.EPHEMERAL, 'ephemerals have no children')
      if (kind === NodeKind.EPHEMERAL) {
        ephemerals++
        assert(this.#ephemerals.get(nodes.owner(node))?.has(path) === true, `${path} is indexed under its owner`)
      }
      assert(this.#containers.has(path) === (kind === NodeKind.CONTAINER), `${path} container index`)
      assert(this.#ttls.has(path) === (kind === NodeKind.TTL), `${path} TTL index`)
    }
    assert(linked === nodes.size - 1, 'every node but the root is in exactly one child list')
    let indexed = 0
    for (const s of this.#ephemerals.values()) indexed += s.size
    assert(indexed === ephemerals, 'the ephemeral index holds exactly the ephemerals')
  }
}
