/**
 * Replicated JSON configuration, with every change seen by every watcher, in one order.
 *
 * Design (chosen over one znode per key): the whole configuration is ONE PERSISTENT znode
 * holding `{ rev, values, recent }` as JSON, where `recent` lists the last
 * {@link CONFIG_HISTORY} changes `{ rev, key, value?, by }`. A change is a read, then a
 * setData conditional on the version read, retried on BADVERSION, so changes are totally
 * ordered by `rev`. Why: a watch event carries no data, and by the time a watcher reads, more
 * changes may have been applied; with one znode per key, intermediate values would be lost and
 * changes to different keys could not be ordered. With `recent` in the znode, a watcher that
 * reads late still finds every change it has not seen, and replays them in `rev` order, so
 * every session on every peer emits the same sequence of `'change'` events. A watcher that
 * falls more than CONFIG_HISTORY changes behind (unlikely: it reads right after each event)
 * emits the net change of each key instead, and never a stale value.
 * The cost: writes to the configuration are serialized (fine for configuration), and the
 * znode must fit the 1 MiB data limit, history included.
 *
 * Owns: the configuration znode and, between start() and stop(), one persistent watch on it.
 */
import { EventEmitter } from 'node:events'
import { ZkError } from '../errors.js'
import type { Session } from '../session/session.js'
import type { Stat } from '../tree/types.js'
import { ensurePath, hasCode, isOutcomeUnknown, newGuid, Scope, settle, type WaitOptions } from './common.js'

/** A JSON value. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue }

/** A `'change'` event: `key` now holds `value` (undefined: deleted) as of revision `rev`. */
export interface ConfigChange {
  readonly key: string
  readonly value: JsonValue | undefined
  readonly rev: number
}

/** How many recent changes the znode keeps for watchers that read late. */
export const CONFIG_HISTORY = 64

interface Entry {
  readonly rev: number
  readonly key: string
  readonly value?: JsonValue
  readonly by: string
}

interface Doc {
  readonly rev: number
  readonly values: Record<string, JsonValue>
  readonly recent: readonly Entry[]
}

const EMPTY: Doc = { rev: 0, values: {}, recent: [] }

/**
 * The configuration at `path`.
 *
 * Contract:
 * - `set`/`delete` are atomic and totally ordered (by `rev`); `get`/`all` read this peer's
 *   replica (a session reads its own writes).
 * - After `start()`, `'change'` is emitted for every change committed after the start, once,
 *   in `rev` order, on every session that started, whichever peer it is on.
 * - Suspension: no events arrive while suspended; on reconnection the missed changes are
 *   emitted, still in order. Expiry: events stop (the watch dies with the session).
 * - Unknown outcomes of a change are settled and resolved by looking for the change's own id
 *   in the history, so a change is applied at most once and reported correctly.
 */
export class Config extends EventEmitter {
  #remove: (() => void) | undefined
  #rev = 0
  #values: Record<string, JsonValue> = {}
  #refreshing: Promise<void> = Promise.resolve()

  /**
   * @param zk the session used to read, change and watch the configuration.
   * @param path the configuration's znode (created, empty, with its ancestors, if missing).
   */
  constructor (readonly zk: Session, readonly path: string) {
    super()
  }

  /**
   * Starts emitting `'change'` for changes committed from now on. Resolves once watching.
   * Rejects BADARGUMENTS if already started.
   */
  async start (options?: WaitOptions): Promise<void> {
    if (this.#remove !== undefined) throw new ZkError('BADARGUMENTS', 'Config.start: already started', this.path)
    const scope = new Scope(this.zk, options, 'Config.start', this.path)
    // Watch first, then read, and queue the watch's refreshes behind that read: a change in
    // between is then both read and notified, and the revision check drops the duplicate.
    let loaded = (): void => {}
    this.#refreshing = new Promise<void>((resolve) => { loaded = resolve })
    try {
      this.#remove = this.zk.addWatch(this.path, (e) => {
        if (e.type === 'NodeDataChanged' || e.type === 'NodeCreated') this.#refresh()
      })
      const { doc } = await this.#read(scope)
      this.#rev = doc.rev
      this.#values = doc.values
    } catch (err) {
      this.#remove?.()
      this.#remove = undefined
      throw scope.error ?? err
    } finally {
      loaded()
      scope.dispose()
    }
  }

  /** Stops emitting `'change'` and removes the watch. Idempotent. */
  async stop (): Promise<void> {
    this.#remove?.()
    this.#remove = undefined
    await this.#refreshing
  }

  /** The value of `key`, or undefined. */
  async get (key: string, options?: WaitOptions): Promise<JsonValue | undefined> {
    checkKey(key, this.path)
    return (await this.all(options))[key]
  }

  /** Every key and value (a fresh copy). */
  async all (options?: WaitOptions): Promise<Record<string, JsonValue>> {
    const scope = new Scope(this.zk, options, 'Config.all', this.path)
    try {
      return (await this.#read(scope)).doc.values
    } finally {
      scope.dispose()
    }
  }

  /** Sets `key` to `value` (any JSON value) and resolves with the change's revision. */
  async set (key: string, value: JsonValue, options?: WaitOptions): Promise<number> {
    checkKey(key, this.path)
    const text = JSON.stringify(value)
    if (text === undefined) throw new ZkError('BADARGUMENTS', `Config.set: the value of ${JSON.stringify(key)} is not JSON`, this.path)
    return await this.#change('Config.set', key, JSON.parse(text) as JsonValue, options)
  }

  /** Deletes `key` (a change with value undefined) and resolves with the change's revision. */
  async delete (key: string, options?: WaitOptions): Promise<number> {
    checkKey(key, this.path)
    return await this.#change('Config.delete', key, undefined, options)
  }

  async #change (what: string, key: string, value: JsonValue | undefined, options: WaitOptions | undefined): Promise<number> {
    const scope = new Scope(this.zk, options, what, this.path)
    const by = newGuid(this.zk)
    try {
      for (;;) {
        await scope.connected()
        const { doc, stat } = await this.#read(scope)
        const rev = doc.rev + 1
        const values = { ...doc.values }
        if (value === undefined) delete values[key]
        else values[key] = value
        const entry: Entry = value === undefined ? { rev, key, by } : { rev, key, value, by }
        const next: Doc = { rev, values, recent: [...doc.recent, entry].slice(-CONFIG_HISTORY) }
        try {
          await scope.race(this.zk.setData(this.path, JSON.stringify(next), stat.version))
          return rev
        } catch (err) {
          if (hasCode(err, 'BADVERSION')) continue
          if (!isOutcomeUnknown(err)) throw err
          await settle(scope)
          const now = (await this.#read(scope)).doc
          const mine = now.recent.find((e) => e.by === by)
          if (mine !== undefined) return mine.rev
          // Not in the history: it did not apply, unless the history has moved past it.
          if (now.rev - doc.rev >= CONFIG_HISTORY) throw err
        }
      }
    } catch (err) {
      throw scope.error ?? err
    } finally {
      scope.dispose()
    }
  }

  /** Reads the document (creating the znode empty if missing). */
  async #read (scope: Scope): Promise<{ doc: Doc, stat: Stat }> {
    for (;;) {
      try {
        const { data, stat } = await scope.race(this.zk.getData(this.path))
        return { doc: parseDoc(data, this.path), stat }
      } catch (err) {
        if (!hasCode(err, 'NONODE')) throw err
        const parent = this.path.slice(0, this.path.lastIndexOf('/'))
        if (parent !== '') await ensurePath(scope, parent)
        try {
          await scope.race(this.zk.create(this.path, JSON.stringify(EMPTY)))
        } catch (e) {
          // Made by someone else, or by our own attempt with an unknown outcome: read it.
          if (!hasCode(e, 'NODEEXISTS') && !isOutcomeUnknown(e)) throw e
        }
      }
    }
  }

  /** Queues a read of the document and emits what this object has not seen, in order. */
  #refresh (): void {
    this.#refreshing = this.#refreshing.then(async () => {
      if (this.#remove === undefined) return
      const scope = new Scope(this.zk, undefined, 'Config watch', this.path)
      try {
        this.#apply((await this.#read(scope)).doc)
      } catch {
        // The session ended (events end with it) or the znode is unreadable: nothing to emit.
      } finally {
        scope.dispose()
      }
    })
  }

  #apply (doc: Doc): void {
    if (doc.rev <= this.#rev) return
    const first = doc.recent[0]
    const changes: ConfigChange[] = []
    if (first !== undefined && first.rev <= this.#rev + 1) {
      for (const e of doc.recent) if (e.rev > this.#rev) changes.push({ key: e.key, value: e.value, rev: e.rev })
    } else {
      // Fell behind the history: report each key's net change.
      const keys = new Set([...Object.keys(this.#values), ...Object.keys(doc.values)])
      for (const key of keys) {
        const before = this.#values[key]
        const after = doc.values[key]
        if (JSON.stringify(before) !== JSON.stringify(after)) changes.push({ key, value: after, rev: doc.rev })
      }
    }
    this.#rev = doc.rev
    this.#values = doc.values
    for (const c of changes) this.emit('change', c)
  }
}

function checkKey (key: string, path: string): void {
  if (typeof key !== 'string' || key === '') throw new ZkError('BADARGUMENTS', `Config: a key must be a non-empty string, not ${JSON.stringify(key)}`, path)
}

function parseDoc (data: Buffer, path: string): Doc {
  if (data.length === 0) return EMPTY
  let doc: unknown
  try {
    doc = JSON.parse(data.toString('utf8'))
  } catch (err) {
    throw new ZkError('BADARGUMENTS', 'Config: the znode does not hold JSON written by Config', path, { cause: err })
  }
  if (typeof doc !== 'object' || doc === null || typeof (doc as Doc).rev !== 'number' ||
    typeof (doc as Doc).values !== 'object' || !Array.isArray((doc as Doc).recent)) {
    throw new ZkError('BADARGUMENTS', 'Config: the znode does not hold a document written by Config', path)
  }
  return doc as Doc
}
