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
  /** Proposes a write of `session` and resolves with its applied result (or rejects: timeout, expiry). */
  write (session: Session, ops: readonly WriteOp[], multi: boolean): Promise<ApplyResult>
  /** Resolves once this peer has applied everything committed before the call (ReadIndex); rejects after `timeoutMs`. */
  sync (timeoutMs: number): Promise<void>
  /** Commits the session's close and resolves once applied here. */
  close (session: Session): Promise<void>
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
  readonly #authIds: Id[] = [{ scheme: 'ip', id: '127.0.0.1' }]
  #pendingWrites = 0
  #lastWrite: Promise<void> = Promise.resolve()
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
  async create (path: string, data?: Data, options?: CreateOptions): Promise<string> {
    const op = toCreateOp(path, data, options, this.#defaults())
    const [r] = await this.#write([op], false)
    return (r as { path: string }).path
  }

  /** Reads a znode's data and stat; `watch` is a one-shot listener for its next change. */
  getData (path: string, options?: WatchOptions): Promise<{ data: Buffer, stat: Stat }> {
    return this.#read(() => {
      const p = validatePath(path)
      const watch = toListener(options)
      const result = this.host.tree.getData(p, this.#authIds)
      if (watch !== undefined) this.host.watches.add('data', p, this, watch)
      return result
    })
  }

  /** Sets a znode's data if its version is `version` (-1: any) and resolves with the new stat. */
  async setData (path: string, data: Data, version = -1): Promise<Stat> {
    const p = validatePath(path)
    const op: WriteOp = { op: 'setData', path: p, data: toBytes(data, this.host.maxDataBytes, p), version: toVersion(version, p) }
    const [r] = await this.#write([op], false)
    return (r as { stat: Stat }).stat
  }

  /** Deletes a znode if its version is `version` (-1: any). */
  async delete (path: string, version = -1): Promise<void> {
    const p = validatePath(path)
    await this.#write([{ op: 'delete', path: p, version: toVersion(version, p) }], false)
  }

  /** Resolves with the znode's stat, or null if it does not exist; a watch is set either way. */
  exists (path: string, options?: WatchOptions): Promise<Stat | null> {
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
  async setACL (path: string, acl: readonly ACL[], aversion = -1): Promise<Stat> {
    const p = validatePath(path)
    const op: WriteOp = { op: 'setACL', path: p, acl: toAcl(acl, p), version: toVersion(aversion, p) }
    const [r] = await this.#write([op], false)
    return (r as { stat: Stat }).stat
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
    return this.#write(writes, true)
  }

  /**
   * Resolves once this peer has applied every write committed before the call, so the next
   * read of this session is linearizable. The path is accepted for ZooKeeper compatibility
   * and validated, but the whole tree is synced.
   */
  async sync (path = '/'): Promise<void> {
    validatePath(path)
    this.#checkOpen()
    // In the session's FIFO order: it completes after everything issued before it, and reads
    // issued after it wait for it, as after a write. The read-index round itself starts now,
    // so concurrent syncs overlap instead of queueing.
    this.#pendingWrites++
    const done = Promise.all([this.#lastWrite, this.host.sync(this.timeoutMs)])
    this.#lastWrite = done.then(() => { this.#pendingWrites-- }, () => { this.#pendingWrites-- })
    await done
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
    await this.#lastWrite
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
    return { acl: OPEN_ACL, maxDataBytes: this.host.maxDataBytes }
  }

  #checkOpen (): void {
    if (this.#movedAway) throw new ZkError('SESSIONMOVED', `session 0x${this.sessionId.toString(16)} was attached elsewhere: use the handle that connect({ sessionId, password }) returned`)
    if (this.#state === 'expired') throw new ZkError('SESSIONEXPIRED', `session 0x${this.sessionId.toString(16)} has expired: open a new one with peer.connect()`)
    if (this.#state === 'closed') throw new ZkError('SESSIONEXPIRED', `session 0x${this.sessionId.toString(16)} is closed: open a new one with peer.connect()`)
  }

  /**
   * Runs a local read (validation included, so bad input rejects rather than throws) after
   * this session's in-flight writes, keeping FIFO order.
   */
  #read<T> (fn: () => T): Promise<T> {
    try {
      this.#checkOpen()
      if (this.#pendingWrites === 0) return Promise.resolve(fn())
    } catch (err) {
      return Promise.reject(err)
    }
    return this.#lastWrite.then(() => {
      // The session may have ended while the read waited for earlier writes.
      this.#checkOpen()
      return fn()
    })
  }

  async #write (ops: readonly WriteOp[], multi: boolean): Promise<OpResult[]> {
    this.#checkOpen()
    this.#pendingWrites++
    const applied = this.host.write(this, ops, multi)
    // Later reads wait for this write, whatever its outcome; the caller gets the outcome below.
    this.#lastWrite = applied.then(() => { this.#pendingWrites-- }, () => { this.#pendingWrites-- })
    const result = await applied
    if (result.ok) return result.results
    const err = result.error
    if (multi && result.results !== undefined) err.results = result.results
    throw err
  }
}

/** Ops in one multi; ZooKeeper's frame limit bounds it in practice, the log encoding here. */
const MAX_MULTI_OPS = 0xffff

const OPEN_ACL: readonly ACL[] = [{ perms: Perms.ALL, id: { scheme: 'world', id: 'anyone' } }]

function toListener (options: WatchOptions | undefined): WatchListener | undefined {
  const watch = options?.watch
  if (watch !== undefined && typeof watch !== 'function') throw badArguments(`watch must be a listener function, not ${describe(watch)}`)
  return watch
}
