/**
 * The znode tree: a pure, deterministic state machine (ZK-SEMANTICS §1–§6). It owns every
 * znode, the indexes over them (ephemerals by session, containers, TTL nodes) and the ACL
 * intern table, and changes only through {@link DataTree.apply}. No I/O, no clock, no
 * randomness: zxid, time and session come in with each txn, so replicas that apply the same
 * txns hold equal trees.
 *
 * Invariants: every node but `/` has its parent in the map and is in the parent's `children`;
 * a plain ephemeral has no children; `creates` ≥ numChildren; the indexes hold exactly the
 * nodes of their kind. A failed op or multi leaves all of this untouched (multi undoes its
 * tentative changes in reverse order).
 */

import { assert, unreachable } from '../assert.js'
import { badArguments, Codes, ZkError, type ErrorCode, type OpErrorResult } from '../errors.js'
import { aclForReader, checkAcl, fixupAcl } from './acl.js'
import { AclTable } from './acl-table.js'
import { pathProblem, parentOf, validatePath } from './path.js'
import { decodeTree, encodeTree } from './snapshot.js'
import type { ApplyContext, ApplyResult, TreeTxn } from './txn.js'
import { CreateMode, Ids, Perms, type ACL, type Id, type OpResult, type Stat, type TreeChange, type WriteOp } from './types.js'
import { NodeKind, ZNode, type NodeKindValue } from './znode.js'

/** Largest TTL ZooKeeper can encode (2⁴⁰−1 ms). */
export const MAX_TTL_MS = 2 ** 40 - 1
/** The create counter C is a signed 32-bit int in ZooKeeper; a create that would pass it is refused. */
export const MAX_CREATES = 2 ** 31 - 1

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

function asLatin1 (data: Uint8Array): string {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('latin1')
}

function errorResult (code: ErrorCode): OpErrorResult {
  return { type: 'error', rc: Codes[code], code }
}

/** The znode tree. See the module comment for its invariants. */
export class DataTree {
  #nodes = new Map<string, ZNode>()
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
   * A fresh tree with ZooKeeper's system nodes (§1): `/` (one child, reported cversion −1),
   * `/zookeeper` (reported cversion −2), `/zookeeper/quota`, and `/zookeeper/config` (ACL
   * world:anyone READ, aversion −1). Every other stat field is 0, all data empty.
   */
  constructor () {
    const open = this.#acls.intern(Ids.OPEN_ACL_UNSAFE)
    const system = (path: string, acl: readonly ACL[], aversion: number): void => {
      this.#nodes.set(path, new ZNode('', acl, 0, 0, 0, 0, 0, 0, aversion, 0, NodeKind.PERSISTENT, 0, 0n))
    }
    system('/', open, 0)
    system('/zookeeper', this.#acls.intern(Ids.OPEN_ACL_UNSAFE), 0)
    system('/zookeeper/quota', this.#acls.intern(Ids.OPEN_ACL_UNSAFE), 0)
    system('/zookeeper/config', this.#acls.intern(Ids.READ_ACL_UNSAFE), -1)
    this.#nodes.get('/')!.children = new Set(['/zookeeper'])
    this.#nodes.get('/zookeeper')!.children = new Set(['/zookeeper/quota', '/zookeeper/config'])
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
    const parentPath = parentOf(sequential ? path + '1' : path)
    const parent = this.#nodes.get(parentPath)
    if (parent === undefined) return new ZkError('NONODE', `parent ${parentPath} does not exist`, path)
    if (!checkAcl(parent.acl, Perms.CREATE, ctx.authIds)) return new ZkError('NOAUTH', `no CREATE permission on ${parentPath}`, path)
    if (parent.creates >= MAX_CREATES) {
      return badArguments(`${parentPath} has had 2^31-1 children created; its create counter (cversion, sequence numbers) cannot advance`, path)
    }
    const finalPath = sequential ? path + String(parent.creates).padStart(10, '0') : path
    if (this.#nodes.has(finalPath)) return new ZkError('NODEEXISTS', undefined, finalPath)
    if (parent.kind === NodeKind.EPHEMERAL) return new ZkError('NOCHILDRENFOREPHEMERALS', `${parentPath} is ephemeral`, path)

    const node = new ZNode(asLatin1(op.data), this.#acls.intern(acl), ctx.zxid, ctx.zxid, ctx.zxid, ctx.timeMs, ctx.timeMs,
      0, 0, 0, kind, kind === NodeKind.TTL ? op.ttlMs! : 0, kind === NodeKind.EPHEMERAL ? ctx.sessionId : 0n)
    this.#insertNode(finalPath, node, parentPath, parent)
    return { type: 'create', path: finalPath, stat: node.stat() }
  }

  /** Delete (§5): BADARGUMENTS(special) → NONODE(parent) → NOAUTH → NONODE → BADVERSION → NOTEMPTY. */
  #delete (op: Extract<WriteOp, { op: 'delete' }>, ctx: ApplyContext): OpResult | ZkError {
    const { path } = op
    const problem = pathProblem(path)
    if (problem !== undefined) return badArguments(problem, typeof path === 'string' ? path : undefined)
    if (!isVersion(op.version)) return badArguments('version must be a 32-bit integer', path)
    if (undeletable.has(path)) return badArguments('system nodes cannot be deleted', path)
    const parentPath = parentOf(path)
    const parent = this.#nodes.get(parentPath)
    if (parent === undefined) return new ZkError('NONODE', undefined, path)
    if (!checkAcl(parent.acl, Perms.DELETE, ctx.authIds)) return new ZkError('NOAUTH', `no DELETE permission on ${parentPath}`, path)
    const node = this.#nodes.get(path)
    if (node === undefined) return new ZkError('NONODE', undefined, path)
    if (op.version !== -1 && op.version !== node.version) return new ZkError('BADVERSION', `expected version ${op.version}, node has ${node.version}`, path)
    if (node.children !== null) return new ZkError('NOTEMPTY', `${node.children.size} children`, path)
    this.#removeNode(path, ctx.zxid)
    return { type: 'delete' }
  }

  /** setData (§5): NONODE → NOAUTH(WRITE) → BADVERSION. Identical bytes still bump version. */
  #setData (op: Extract<WriteOp, { op: 'setData' }>, ctx: ApplyContext): OpResult | ZkError {
    const node = this.#writable(op.path, op.version, Perms.WRITE, ctx)
    if (node instanceof ZkError) return node
    if (!(op.data instanceof Uint8Array)) return badArguments('data must be a Uint8Array', op.path)
    if (op.version !== -1 && op.version !== node.version) return new ZkError('BADVERSION', `expected version ${op.version}, node has ${node.version}`, op.path)
    const { data, version, mzxid, mtime } = node
    this.#undo?.push(() => {
      node.data = data
      node.version = version
      node.mzxid = mzxid
      node.mtime = mtime
    })
    node.data = asLatin1(op.data)
    node.version = (version + 1) | 0 // Java int arithmetic: wraps after 2^31 updates
    node.mzxid = ctx.zxid
    node.mtime = ctx.timeMs
    this.#changes.push({ type: 'NodeDataChanged', path: op.path, acl: node.acl })
    return { type: 'setData', stat: node.stat() }
  }

  /** setACL (§5): INVALIDACL → NONODE → NOAUTH(ADMIN) → BADVERSION on aversion. Fires no watch. */
  #setAcl (op: Extract<WriteOp, { op: 'setACL' }>, ctx: ApplyContext): OpResult | ZkError {
    const problem = pathProblem(op.path)
    if (problem !== undefined) return badArguments(problem, typeof op.path === 'string' ? op.path : undefined)
    if (!isVersion(op.version)) return badArguments('version must be a 32-bit integer', op.path)
    const acl = fixupAcl(op.acl, ctx.authIds, op.path)
    if (acl instanceof ZkError) return acl
    const node = this.#nodes.get(op.path)
    if (node === undefined) return new ZkError('NONODE', undefined, op.path)
    if (!checkAcl(node.acl, Perms.ADMIN, ctx.authIds)) return new ZkError('NOAUTH', 'no ADMIN permission', op.path)
    if (op.version !== -1 && op.version !== node.aversion) return new ZkError('BADVERSION', `expected aversion ${op.version}, node has ${node.aversion}`, op.path)
    const old = node.acl
    const oldAversion = node.aversion
    node.acl = this.#acls.intern(acl)
    this.#acls.release(old)
    node.aversion = (oldAversion + 1) | 0
    const now = node.acl
    this.#undo?.push(() => {
      this.#acls.retain(old)
      this.#acls.release(now)
      node.acl = old
      node.aversion = oldAversion
    })
    return { type: 'setACL', stat: node.stat() }
  }

  /** check (§6): NONODE → NOAUTH(READ) → BADVERSION; version −1 only tests existence. */
  #check (op: Extract<WriteOp, { op: 'check' }>, ctx: ApplyContext): OpResult | ZkError {
    const node = this.#writable(op.path, op.version, Perms.READ, ctx)
    if (node instanceof ZkError) return node
    if (op.version !== -1 && op.version !== node.version) return new ZkError('BADVERSION', `expected version ${op.version}, node has ${node.version}`, op.path)
    return { type: 'check' }
  }

  /** Shared prefix of setData and check: path, version shape, NONODE, then the ACL. */
  #writable (path: string, version: number, perm: number, ctx: ApplyContext): ZNode | ZkError {
    const problem = pathProblem(path)
    if (problem !== undefined) return badArguments(problem, typeof path === 'string' ? path : undefined)
    if (!isVersion(version)) return badArguments('version must be a 32-bit integer', path)
    const node = this.#nodes.get(path)
    if (node === undefined) return new ZkError('NONODE', undefined, path)
    if (!checkAcl(node.acl, perm, ctx.authIds)) return new ZkError('NOAUTH', `no ${perm === Perms.WRITE ? 'WRITE' : 'READ'} permission`, path)
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
    const node = this.#nodes.get(path)
    if (node === undefined) return new ZkError('NONODE', undefined, path)
    if (node.children !== null) return new ZkError('NOTEMPTY', `${node.children.size} children`, path)
    if (node.kind !== NodeKind.CONTAINER && node.kind !== NodeKind.TTL) return new ZkError('BADVERSION', 'only containers and TTL nodes are reaped', path)
    this.#removeNode(path, ctx.zxid)
    return { type: 'delete' }
  }

  // ------------------------------------------------------- mutation primitives (undoable)

  #insertNode (path: string, node: ZNode, parentPath: string, parent: ZNode): void {
    const { pzxid } = parent
    this.#nodes.set(path, node)
    ;(parent.children ??= new Set()).add(path)
    parent.creates++
    parent.pzxid = node.czxid
    this.#index(path, node)
    this.#changes.push({ type: 'NodeCreated', path, acl: node.acl }, { type: 'NodeChildrenChanged', path: parentPath, acl: parent.acl })
    this.#undo?.push(() => {
      this.#unindex(path, node)
      this.#acls.release(node.acl)
      this.#nodes.delete(path)
      parent.children!.delete(path)
      if (parent.children!.size === 0) parent.children = null
      parent.creates--
      parent.pzxid = pzxid
    })
  }

  /** Deletes an existing childless node; the caller has done every check. */
  #removeNode (path: string, zxid: number): void {
    const node = this.#nodes.get(path)
    assert(node !== undefined, 'only existing nodes are removed')
    assert(node.children === null, 'only childless nodes are removed')
    const parentPath = parentOf(path)
    const parent = this.#nodes.get(parentPath)
    assert(parent?.children != null, 'a node is in its parent\'s children')
    const { pzxid } = parent
    this.#nodes.delete(path)
    parent.children.delete(path)
    if (parent.children.size === 0) parent.children = null
    parent.pzxid = zxid
    this.#unindex(path, node)
    this.#acls.release(node.acl)
    this.#changes.push({ type: 'NodeDeleted', path, acl: node.acl }, { type: 'NodeChildrenChanged', path: parentPath, acl: parent.acl })
    this.#undo?.push(() => {
      this.#acls.retain(node.acl)
      this.#index(path, node)
      this.#nodes.set(path, node)
      ;(parent.children ??= new Set()).add(path)
      parent.pzxid = pzxid
    })
  }

  #index (path: string, node: ZNode): void {
    switch (node.kind) {
      case NodeKind.EPHEMERAL: {
        let mine = this.#ephemerals.get(node.owner)
        if (mine === undefined) this.#ephemerals.set(node.owner, mine = new Set())
        mine.add(path)
        break
      }
      case NodeKind.CONTAINER: this.#containers.add(path); break
      case NodeKind.TTL: this.#ttls.add(path); break
      case NodeKind.PERSISTENT: break
      default: unreachable(node.kind, 'unknown node kind')
    }
  }

  #unindex (path: string, node: ZNode): void {
    switch (node.kind) {
      case NodeKind.EPHEMERAL: {
        const mine = this.#ephemerals.get(node.owner)
        assert(mine?.delete(path) === true, 'an ephemeral is indexed under its owner')
        if (mine.size === 0) this.#ephemerals.delete(node.owner)
        break
      }
      case NodeKind.CONTAINER: this.#containers.delete(path); break
      case NodeKind.TTL: this.#ttls.delete(path); break
      case NodeKind.PERSISTENT: break
      default: unreachable(node.kind, 'unknown node kind')
    }
  }

  // ---------------------------------------------------------------- reads

  /** The node at a valid path after the ACL check; throws BADARGUMENTS, NONODE or NOAUTH. */
  #readable (path: string, perm: number, authIds: readonly Id[]): ZNode {
    // Every stored path was validated when its node was created, so only a miss needs the
    // check (to tell a malformed path from a missing node); hot reads skip it.
    const node = this.#nodes.get(path)
    if (node === undefined) {
      validatePath(path)
      throw new ZkError('NONODE', undefined, path)
    }
    if (!checkAcl(node.acl, perm, authIds)) throw new ZkError('NOAUTH', undefined, path)
    return node
  }

  /** A node's data (a fresh copy) and stat. Needs READ; throws NONODE / NOAUTH / BADARGUMENTS. */
  getData (path: string, authIds: readonly Id[]): { data: Buffer, stat: Stat } {
    const node = this.#readable(path, Perms.READ, authIds)
    return { data: Buffer.from(node.data, 'latin1'), stat: node.stat() }
  }

  /** A node's stat, or null when it does not exist. READ is checked only if it exists (ZOOKEEPER-2590). */
  exists (path: string, authIds: readonly Id[]): Stat | null {
    const node = this.#nodes.get(path)
    if (node === undefined) {
      validatePath(path)
      return null
    }
    if (!checkAcl(node.acl, Perms.READ, authIds)) throw new ZkError('NOAUTH', undefined, path)
    return node.stat()
  }

  /** Children's names, sorted by UTF-16 code unit. Needs READ; throws NONODE / NOAUTH. */
  getChildren (path: string, authIds: readonly Id[]): string[] {
    return this.getChildrenAndStat(path, authIds).children
  }

  /** Like {@link getChildren}, with the node's stat (ZooKeeper's getChildren2). */
  getChildrenAndStat (path: string, authIds: readonly Id[]): { children: string[], stat: Stat } {
    const node = this.#readable(path, Perms.READ, authIds)
    const cut = path === '/' ? 1 : path.length + 1
    const children = node.children === null ? [] : Array.from(node.children, (p) => p.slice(cut)).sort()
    return { children, stat: node.stat() }
  }

  /**
   * A node's ACL and stat. Needs READ or ADMIN (ZooKeeper 3.7+); without ADMIN, digest ids are
   * masked as `user:x`. Throws NONODE / NOAUTH.
   */
  getACL (path: string, authIds: readonly Id[]): { acl: ACL[], stat: Stat } {
    const node = this.#readable(path, Perms.READ | Perms.ADMIN, authIds)
    return { acl: aclForReader(node.acl, authIds), stat: node.stat() }
  }

  /**
   * Number of descendants of `path` at any depth (ZooKeeper's getAllChildrenNumber counts every
   * node under the path, not only direct children). Needs READ. Costs O(descendants).
   */
  getAllChildrenNumber (path: string, authIds: readonly Id[]): number {
    const node = this.#readable(path, Perms.READ, authIds)
    if (path === '/') return this.#nodes.size - 1
    let count = 0
    const stack: ZNode[] = [node]
    while (stack.length > 0) {
      const n = stack.pop()!
      if (n.children === null) continue
      count += n.children.size
      for (const c of n.children) stack.push(this.#nodes.get(c)!)
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
    for (const p of this.#containers) {
      const n = this.#nodes.get(p)!
      if (n.children === null && n.creates > 0) due.push(p)
    }
    for (const p of this.#ttls) {
      const n = this.#nodes.get(p)!
      if (n.children === null && nowMs - n.mtime > n.ttlMs) due.push(p)
    }
    return due.sort()
  }

  // ---------------------------------------------------------------- snapshots

  /**
   * The whole tree as compact bytes (see snapshot.ts). Equal trees give equal bytes when
   * their nodes were created in the same order.
   */
  snapshot (): Uint8Array {
    return encodeTree(this.#nodes)
  }

  /** Rebuilds a tree, indexes and ACL table from {@link snapshot}'s bytes. Throws on corrupt input. */
  static fromSnapshot (bytes: Uint8Array): DataTree {
    const tree = new DataTree()
    tree.#load(decodeTree(bytes))
    return tree
  }

  /** Adopts a decoded node map (no copy: a second million-entry map would double the load time). */
  #load (nodes: Map<string, ZNode>): void {
    for (const n of this.#nodes.values()) this.#acls.release(n.acl)
    this.#nodes = nodes
    // Decoded nodes share one array per distinct ACL; intern each once, then count by identity
    // (keying every node's ACL would dominate the load time of a large tree).
    const interned = new Map<readonly ACL[], readonly ACL[]>()
    for (const [path, node] of nodes) {
      const shared = interned.get(node.acl)
      if (shared === undefined) interned.set(node.acl, node.acl = this.#acls.intern(node.acl))
      else this.#acls.retain(node.acl = shared)
      if (node.kind !== NodeKind.PERSISTENT) this.#index(path, node)
    }
    assert(nodes.has('/'), 'a snapshot holds the root')
  }

  /**
   * Checks the structural invariants over the whole tree (O(n); for tests and paranoid mode).
   * Throws AssertionError on the first violation.
   */
  checkInvariants (): void {
    let ephemerals = 0
    for (const [path, node] of this.#nodes) {
      if (path !== '/') {
        const parent = this.#nodes.get(parentOf(path))
        assert(parent?.children?.has(path) === true, `${path} is in its parent's children`)
      }
      if (node.children !== null) {
        assert(node.children.size > 0, 'an empty children set is null')
        assert(node.kind !== NodeKind.EPHEMERAL, 'ephemerals have no children')
        for (const c of node.children) assert(this.#nodes.has(c), `child ${c} exists`)
      }
      if (node.kind === NodeKind.EPHEMERAL) {
        ephemerals++
        assert(this.#ephemerals.get(node.owner)?.has(path) === true, `${path} is indexed under its owner`)
      }
      assert(this.#containers.has(path) === (node.kind === NodeKind.CONTAINER), `${path} container index`)
      assert(this.#ttls.has(path) === (node.kind === NodeKind.TTL), `${path} TTL index`)
    }
    let indexed = 0
    for (const s of this.#ephemerals.values()) indexed += s.size
    assert(indexed === ephemerals, 'the ephemeral index holds exactly the ephemerals')
  }
}
