/**
 * The public Session: host code's handle on the replicated tree, opened on one peer
 * (API.md, Session). Reads are served from this peer's replica; writes go through the leader
 * and resolve once committed and applied here, so a session reads its own writes.
 *
 * Ordering: a session's operations take effect in the order they were called (ZooKeeper's
 * FIFO client order): a read issued while earlier writes of the same session are in flight is
 * served after they apply. Watch events are delivered as the peer applies the transaction
 * that triggers them, so a listener runs before any later promise of the session resolves.
 */
import { EventEmitter } from 'node:events'
import { badArguments, ZkError } from '../errors.js'
import type { Logger } from '../env.js'
import type { Data, MultiOp, CreateOptions } from '../op.js'
import { checkAcl, digestId } from '../tree/acl.js'
import type { DataTree } from '../tree/data-tree.js'
import { validatePath } from '../tree/path.js'
import type { ApplyResult } from '../tree/txn.js'
import { Perms, type ACL, type Id, type OpResult, type Stat, type WatchEvent, type WriteOp } from '../tree/types.js'
import { describe, toAcl, toBytes, toCreateOp, toVersion, toWriteOp } from '../validate.js'
import type { WatchListener, WatchOwner, WatchRegistry } from '../watch/watch-registry.js'

/** A session's lifecycle states (API.md). */
export type SessionState = 'connected' | 'suspended' | 'expired' | 'closed'

/** What a Session needs from the peer that owns it. Internal: implemented by Peer. */
export interface SessionHost {
  readonly tree: DataTree
  readonly watches: WatchRegistry
  readonly maxDataBytes: number
  readonly log: Logger
  /** `user:base64(sha1(user:password))` of the super user, if configured. */
  readonly superDigest: string | undefined
  /**
   * Proposes a write of `session` and settles `request` exactly once: `applied` with the
   * tree's verdict once applied on this peer, or `failed` (timeout, expiry, a stopped peer, a
   * refused request). Writes of one session apply in the order of these calls.
   */
  write (session: Session, ops: readonly WriteOp[], multi: boolean, request: WriteRequest): void
  /** Resolves once this peer has applied everything committed before the call (ReadIndex); rejects after `timeoutMs`. */
  sync (timeoutMs: number): Promise<void>
  /** Commits the session's close and resolves once applied here. */
  close (session: Session): Promise<void>
}

/**
 * How the peer reports a write's outcome to the session that issued it. A callback object
 * rather than a promise: the session resolves the caller's own promise directly, with no
 * intermediate promises or microtask hops per write.
 */
export interface WriteRequest {
  /** The write was applied on this peer; `result` is the tree's verdict (ok or a ZkError). */
  applied (result: ApplyResult): void
  /** The write's outcome is not known here, or it was refused before it was proposed. */
  failed (error: ZkError): void
}

/**
 * One write or sync of a session, from its call until it settles. Reads issued after it wait
 * for it (the session's FIFO order); it runs them, in issue order, as it settles.
 */
class Turn {
  settled = false
  #after: Array<() => void> | undefined

  /** Runs `fn` once this turn has settled, or at once if it has. */
  whenSettled (fn: () => void): void {
    if (this.settled) fn()
    else (this.#after ??= []).push(fn)
  }

  /** Marks the turn settled and runs what waited for it. Call after resolving its own promise. */
  settle (): void {
    this.settled = true
    const after = this.#after
    this.#after = undefined
    if (after !== undefined) for (const fn of after) fn()
  }
}

/**
 * A write's turn: settles the caller's promise with `pick(results)` or with the error. The
 * caller's promise is resolved before the reads that waited are run, so callers see their
 * results in issue order.
 */
class WriteTurn<T> extends Turn implements WriteRequest {
  constructor (
    private readonly multi: boolean,
    private readonly pick: (results: OpResult[]) => T,
    private readonly resolve: (value: T) => void,
    private readonly reject: (error: ZkError) => void,
  ) {
    super()
  }

  applied (result: ApplyResult): void {
    if (result.ok) this.resolve(this.pick(result.results))
    else {
      const err = result.error
      if (this.multi && result.results !== undefined) err.results = result.results
      this.reject(err)
    }
    this.settle()
  }

  failed (error: ZkError): void {
    this.reject(error)
    this.settle()
  }
}

/** Options of `getData`, `exists` and `getChildren`. */
export interface WatchOptions {
  /** A one-shot listener (ZooKeeper semantics) for the next change of this node. */
  readonly watch?: WatchListener
}

/** Options of `addWatch` and `watch`. */
export interface PersistentWatchOptions {
  /** Also watch every descendant (created, changed, deleted; never NodeChildrenChanged). */
  readonly recursive?: boolean
}

/**
 * A session on a peer. Create one with `peer.connect()`. Emits `'state'` with the new
 * {@link SessionState} whenever it changes.
 */
export class Session extends EventEmitter implements WatchOwner {
  #state: SessionState = 'connected'
  /** False once the session ended here (expired, closed or moved): the one test a plain read needs. */
  #open = true
  readonly #authIds: Id[] = [{ scheme: 'ip', id: '127.0.0.1' }]
  /** The last write or sync issued; reads issued while it is unsettled wait for it. */
  #last: Turn | undefined
  #defaultsOnce: { acl: readonly ACL[], maxDataBytes: number } | undefined
  readonly #iterators = new Set<() => void>()
  readonly #password: Uint8Array
  /** Set when the session ended here because its client attached to it elsewhere. */
  #movedAway = false

  /**
   * @internal Sessions are made by `peer.connect()`.
   * @param sessionId the session's id (the zxid of the transaction that opened it).
   * @param timeoutMs the negotiated session timeout.
   * @param password the session's password (kept by the ensemble), to attach to it elsewhere.
   */
  constructor (readonly sessionId: bigint, readonly timeoutMs: number, password: Uint8Array, private readonly host: SessionHost) {
    super()
    this.#password = Uint8Array.from(password)
    // Every waiting recipe call (locks, barriers, elections…) follows the session's state, so
    // many listeners on one session are normal, not a leak.
    this.setMaxListeners(0)
  }

  /**
   * The session's password (16 bytes). With {@link sessionId} it lets another peer take the
   * session over: `otherPeer.connect({ sessionId, password })`. Keep it secret.
   */
  get password (): Uint8Array {
    return Uint8Array.from(this.#password)
  }

  /** The session's current state. */
  get state (): SessionState {
    return this.#state
  }

  /** The identities this session has proven (for ACL checks). Includes `ip:127.0.0.1`. */
  get authIds (): readonly Id[] {
    return this.#authIds
  }

  /** Creates a znode and resolves with its path (the sequential suffix included). */
  create (path: string, data?: Data, options?: CreateOptions): Promise<string> {
    let op: WriteOp
    try {
      op = toCreateOp(path, data, options, this.#defaults())
    } catch (err) {
      return Promise.reject(err)
    }
    return this.#write([op], false, createdPath)
  }

  /** Reads a znode's data and stat; `watch` is a one-shot listener for its next change. */
  getData (path: string, options?: WatchOptions): Promise<{ data: Buffer, stat: Stat }> {
    if (options === undefined && this.#readsAtOnce()) return this.#readNow(READ_DATA, path)
    return this.#read(() => {
      const p = validatePath(path)
      const watch = toListener(options)
      const result = this.host.tree.getData(p, this.#authIds)
      if (watch !== undefined) this.host.watches.add('data', p, this, watch)
      return result
    })
  }

  /** Sets a znode's data if its version is `version` (-1: any) and resolves with the new stat. */
  setData (path: string, data: Data, version = -1): Promise<Stat> {
    let op: WriteOp
    try {
      const p = validatePath(path)
      op = { op: 'setData', path: p, data: toBytes(data, this.host.maxDataBytes, p), version: toVersion(version, p) }
    } catch (err) {
      return Promise.reject(err)
    }
    return this.#write([op], false, firstStat)
  }

  /** Deletes a znode if its version is `version` (-1: any). */
  delete (path: string, version = -1): Promise<void> {
    let op: WriteOp
    try {
      const p = validatePath(path)
      op = { op: 'delete', path: p, version: toVersion(version, p) }
    } catch (err) {
      return Promise.reject(err)
    }
    return this.#write([op], false, nothing)
  }

  /** Resolves with the znode's stat, or null if it does not exist; a watch is set either way. */
  exists (path: string, options?: WatchOptions): Promise<Stat | null> {
    if (options === undefined && this.#readsAtOnce()) return this.#readNow(READ_STAT, path)
    return this.#read(() => {
      const p = validatePath(path)
      const watch = toListener(options)
      const stat = this.host.tree.exists(p, this.#authIds)
      if (watch !== undefined) this.host.watches.add('data', p, this, watch, stat !== null)
      return stat
    })
  }

  /** Resolves with the names of a znode's children, sorted; `watch` fires on the next child change. */
  getChildren (path: string, options?: WatchOptions): Promise<string[]> {
    if (options === undefined && this.#readsAtOnce()) return this.#readNow(READ_CHILDREN, path)
    return this.#read(() => {
      const p = validatePath(path)
      const watch = toListener(options)
      const children = this.host.tree.getChildren(p, this.#authIds)
      if (watch !== undefined) this.host.watches.add('child', p, this, watch)
      return children
    })
  }

  /** Resolves with a znode's ACL and stat (digest ids masked without ADMIN, as ZooKeeper does). */
  getACL (path: string): Promise<{ acl: ACL[], stat: Stat }> {
    return this.#read(() => this.host.tree.getACL(validatePath(path), this.#authIds))
  }

  /** Replaces a znode's ACL if its ACL version is `aversion` (-1: any); resolves with the new stat. */
  setACL (path: string, acl: readonly ACL[], aversion = -1): Promise<Stat> {
    let op: WriteOp
    try {
      const p = validatePath(path)
      op = { op: 'setACL', path: p, acl: toAcl(acl, p), version: toVersion(aversion, p) }
    } catch (err) {
      return Promise.reject(err)
    }
    return this.#write([op], false, firstStat)
  }

  /** Counts every descendant of a znode (ZooKeeper's getAllChildrenNumber). */
  getAllChildrenNumber (path: string): Promise<number> {
    return this.#read(() => this.host.tree.getAllChildrenNumber(validatePath(path), this.#authIds))
  }

  /** The paths of this session's ephemeral nodes, optionally under `prefix` (ZooKeeper's getEphemerals). */
  getEphemerals (prefix = '/'): Promise<string[]> {
    return this.#read(() => this.host.tree.getEphemerals(this.sessionId, validatePath(prefix)))
  }

  /**
   * Applies `ops` atomically: all or nothing. Resolves with each op's result; on failure
   * rejects with the first failing op's error, whose `results` hold every op's outcome.
   */
  async multi (ops: readonly MultiOp[]): Promise<OpResult[]> {
    if (!Array.isArray(ops)) throw badArguments(`multi takes an array of Op.* operations, not ${describe(ops)}`)
    if (ops.length === 0) return []
    if (ops.length > MAX_MULTI_OPS) throw badArguments(`a multi holds at most ${MAX_MULTI_OPS} ops, not ${ops.length}`)
    const defaults = this.#defaults()
    const writes: WriteOp[] = []
    for (const [i, op] of ops.entries()) {
      try {
        writes.push(toWriteOp(op, defaults))
      } catch (err) {
        // As ZooKeeper's async API reports it: the bad op carries its code, the others -2.
        if (err instanceof ZkError) {
          err.results = ops.map((_, j) => j === i
            ? { type: 'error', rc: err.rc, code: err.code }
            : { type: 'error', rc: -2, code: 'RUNTIMEINCONSISTENCY' })
        }
        throw err
      }
    }
    return this.#write(writes, true, allResults)
  }

  /**
   * Resolves once this peer has applied every write committed before the call, so the next
   * read of this session is linearizable. The path is accepted for ZooKeeper compatibility
   * and validated, but the whole tree is synced.
   */
  sync (path = '/'): Promise<void> {
    try {
      validatePath(path)
      this.#checkOpen()
    } catch (err) {
      return Promise.reject(err)
    }
    // In the session's FIFO order: it completes after everything issued before it, and reads
    // issued after it wait for it, as after a write. The read-index round itself starts now,
    // so concurrent syncs overlap instead of queueing.
    let round: Promise<void>
    try {
      round = this.host.sync(this.timeoutMs)
    } catch (err) {
      // A stopped peer refuses at once; nothing was queued, so later reads need not wait.
      return Promise.reject(err)
    }
    const before = this.#whenIdle()
    const turn = new Turn()
    this.#last = turn
    const done = Promise.all([before, round])
    return new Promise<void>((resolve, reject) => {
      done.then(() => { resolve(); turn.settle() }, (err: unknown) => { reject(err); turn.settle() })
    })
  }

  /**
   * Adds a persistent watch (ZooKeeper 3.6 `addWatch`) on `path`, which need not exist, and
   * returns the function that removes it. Without `recursive` the listener gets every event of
   * `path` itself; with it, created/changed/deleted events of `path` and its descendants.
   */
  addWatch (path: string, listener: WatchListener, options: PersistentWatchOptions = {}): () => void {
    const p = validatePath(path)
    if (typeof listener !== 'function') throw badArguments(`addWatch needs a listener function, not ${describe(listener)}`, p)
    this.#checkOpen()
    const watch = this.host.watches.add(options.recursive === true ? 'recursive' : 'persistent', p, this, listener)
    return () => { this.host.watches.remove(watch) }
  }

  /**
   * A persistent watch as an async iterable of events. It ends when the session ends, or when
   * the consumer stops iterating (which removes the watch). Events are buffered until read.
   */
  watch (path: string, options: PersistentWatchOptions = {}): AsyncIterable<WatchEvent> {
    const queue: WatchEvent[] = []
    let wake: (() => void) | undefined
    let ended = false
    const end = (): void => {
      ended = true
      wake?.()
    }
    const remove = this.addWatch(path, (event) => {
      queue.push(event)
      wake?.()
    }, options)
    this.#iterators.add(end)
    const finish = (): void => {
      remove()
      this.#iterators.delete(end)
      ended = true
    }
    return {
      [Symbol.asyncIterator]: () => ({
        next: async (): Promise<IteratorResult<WatchEvent>> => {
          while (queue.length === 0 && !ended) await new Promise<void>((resolve) => { wake = resolve })
          wake = undefined
          const event = queue.shift()
          if (event !== undefined) return { value: event, done: false }
          finish()
          return { value: undefined, done: true }
        },
        return: async (): Promise<IteratorResult<WatchEvent>> => {
          finish()
          return { value: undefined, done: true }
        },
      }),
    }
  }

  /**
   * Adds an identity to this session for ACL checks. `digest` takes `user:password` (never
   * fails: the id is computed from it, as in ZooKeeper); other schemes are refused with
   * AUTHFAILED.
   */
  async addAuth (scheme: string, credentials: string | Uint8Array): Promise<void> {
    this.#checkOpen()
    if (scheme !== 'digest') throw new ZkError('AUTHFAILED', `unsupported auth scheme ${describe(scheme)}: only 'digest' is available`)
    const text = typeof credentials === 'string' ? credentials : Buffer.from(credentials).toString('utf8')
    if (!text.includes(':')) throw new ZkError('AUTHFAILED', 'digest credentials must be "user:password"')
    const id = digestId(text)
    if (!this.#authIds.some((a) => a.scheme === 'digest' && a.id === id)) this.#authIds.push({ scheme: 'digest', id })
    if (id === this.host.superDigest && !this.#authIds.some((a) => a.scheme === 'super')) this.#authIds.push({ scheme: 'super', id: '' })
  }

  /** Ends the session: its ephemeral nodes are deleted everywhere. Idempotent. */
  async close (): Promise<void> {
    if (this.#state === 'closed' || this.#state === 'expired') return
    await this.#whenIdle()
    await this.host.close(this)
    this.end('closed')
  }

  /** @internal WatchOwner: may this session read a node with `acl`? */
  canRead (acl: readonly ACL[]): boolean {
    return checkAcl(acl, Perms.READ, this.#authIds)
  }

  /** @internal WatchOwner: hands an event to a listener; a throwing listener is logged, not propagated. */
  deliver (listener: WatchListener, event: WatchEvent): void {
    try {
      listener(event)
    } catch (err) {
      this.host.log.warn('a watch listener threw', { path: event.path, type: event.type, error: String(err) })
    }
  }

  /** @internal The peer reports the session's connectivity (`connected`/`suspended`). */
  setConnectivity (state: 'connected' | 'suspended'): void {
    if (this.#state === state || this.#state === 'expired' || this.#state === 'closed') return
    this.#state = state
    this.#emitState(state)
  }

  /**
   * @internal The session ended here: closed by its owner, expired by the ensemble, its peer
   * stopped, or (`moved`) its client attached to it through another `connect()`; it lives on there.
   */
  end (state: 'expired' | 'closed', moved = false): void {
    if (this.#state === 'expired' || this.#state === 'closed') return
    this.#state = state
    this.#open = false
    this.#movedAway = moved
    this.host.watches.removeOwner(this)
    for (const end of this.#iterators) end()
    this.#iterators.clear()
    this.#emitState(state)
  }

  /** Tells listeners of a state change; one that throws is logged, never allowed to stop the peer. */
  #emitState (state: SessionState): void {
    try {
      this.emit('state', state)
    } catch (err) {
      this.host.log.warn('a session state listener threw', { state, error: String(err) })
    }
  }

  #defaults (): { acl: readonly ACL[], maxDataBytes: number } {
    return (this.#defaultsOnce ??= { acl: OPEN_ACL, maxDataBytes: this.host.maxDataBytes })
  }

  /** Resolves once the last write or sync issued so far has settled (at once if none is pending). */
  #whenIdle (): Promise<void> {
    const last = this.#last
    if (last === undefined || last.settled) return Promise.resolve()
    return new Promise<void>((resolve) => { last.whenSettled(resolve) })
  }

  #checkOpen (): void {
    if (this.#movedAway) throw new ZkError('SESSIONMOVED', `session 0x${this.sessionId.toString(16)} was attached elsewhere: use the handle that connect({ sessionId, password }) returned`)
    if (this.#state === 'expired') throw new ZkError('SESSIONEXPIRED', `session 0x${this.sessionId.toString(16)} has expired: open a new one with peer.connect()`)
    if (this.#state === 'closed') throw new ZkError('SESSIONEXPIRED', `session 0x${this.sessionId.toString(16)} is closed: open a new one with peer.connect()`)
  }

  /**
   * True when a read may be served right now: the session is open and none of its writes or
   * syncs is in flight. Such a read without a watch goes straight to the tree, with no closure
   * and no separate path check: the tree looks the path up first and validates it only on a
   * miss (every stored path is valid), so a malformed path still rejects with BADARGUMENTS.
   */
  #readsAtOnce (): boolean {
    const last = this.#last
    return this.#open && (last === undefined || last.settled)
  }

  /**
   * Serves a plain read at once (see {@link #readsAtOnce}); the tree's errors (BADARGUMENTS,
   * NONODE, NOAUTH) reject rather than throw. `read` is one of the module's fixed functions, so
   * no closure is made per read.
   */
  #readNow<T> (read: TreeRead<T>, path: string): Promise<T> {
    try {
      return Promise.resolve(read(this.host.tree, path, this.#authIds))
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /**
   * Runs a local read (validation included, so bad input rejects rather than throws) after
   * this session's in-flight writes, keeping FIFO order.
   */
  #read<T> (fn: () => T): Promise<T> {
    const last = this.#last
    try {
      this.#checkOpen()
      if (last === undefined || last.settled) return Promise.resolve(fn())
    } catch (err) {
      return Promise.reject(err)
    }
    return new Promise<T>((resolve, reject) => {
      last.whenSettled(() => {
        try {
          // The session may have ended while the read waited for earlier writes.
          this.#checkOpen()
          resolve(fn())
        } catch (err) {
          reject(err)
        }
      })
    })
  }

  /**
   * Proposes `ops` and resolves with `pick` of their results. Later reads wait for it,
   * whatever its outcome (see {@link Turn}).
   */
  #write<T> (ops: readonly WriteOp[], multi: boolean, pick: (results: OpResult[]) => T): Promise<T> {
    try {
      this.#checkOpen()
    } catch (err) {
      return Promise.reject(err)
    }
    return new Promise<T>((resolve, reject) => {
      const turn = new WriteTurn(multi, pick, resolve, reject)
      // If the host throws (a bug, not a refusal: refusals settle the turn), nothing was
      // queued, so the turn must not become one that later reads wait for in vain.
      this.host.write(this, ops, multi, turn)
      this.#last = turn
    })
  }
}

/** A read of the tree on behalf of a session with `authIds`, as {@link Session}'s fast path makes it. */
type TreeRead<T> = (tree: DataTree, path: string, authIds: readonly Id[]) => T
const READ_DATA: TreeRead<{ data: Buffer, stat: Stat }> = (tree, path, authIds) => tree.getData(path, authIds)
const READ_STAT: TreeRead<Stat | null> = (tree, path, authIds) => tree.exists(path, authIds)
const READ_CHILDREN: TreeRead<string[]> = (tree, path, authIds) => tree.getChildren(path, authIds)

function createdPath (results: OpResult[]): string {
  return (results[0] as { path: string }).path
}

function firstStat (results: OpResult[]): Stat {
  return (results[0] as { stat: Stat }).stat
}

function nothing (): void {}

function allResults (results: OpResult[]): OpResult[] {
  return results
}

/** Ops in one multi; ZooKeeper's frame limit bounds it in practice, the log encoding here. */
const MAX_MULTI_OPS = 0xffff

const OPEN_ACL: readonly ACL[] = [{ perms: Perms.ALL, id: { scheme: 'world', id: 'anyone' } }]

function toListener (options: WatchOptions | undefined): WatchListener | undefined {
  const watch = options?.watch
  if (watch !== undefined && typeof watch !== 'function') throw badArguments(`watch must be a listener function, not ${describe(watch)}`)
  return watch
}
