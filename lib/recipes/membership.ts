/**
 * Group membership (Curator's GroupMember / PersistentNode): each member is an EPHEMERAL child
 * of the group's path, named by its id (URI-encoded) and holding its info as JSON, so a member
 * whose process dies leaves when its session expires.
 *
 * Owns: its member node, and between start()/join() and stop() one recursive persistent watch
 * on the group and one 'state' listener on the session.
 */
import { EventEmitter } from 'node:events'
import { ZkError } from '../errors.js'
import type { Session } from '../session/session.js'
import { CreateMode } from '../tree/types.js'
import { ensurePath, hasCode, removeNode, retryUnknown, Scope, type WaitOptions } from './common.js'
import type { JsonValue } from './config.js'

/**
 * This process's view of, and place in, the group at `path`.
 *
 * Events: `'change'` with the new `Map<id, info>` whenever the membership or a member's info
 * changes (after start() or join()); `'lost'` when this member's session expires or closes
 * while joined (it is no longer a member; use a new session and a new Membership to rejoin).
 *
 * Contract:
 * - `join()` makes this id a member until `leave()`, `stop()` or the session's end; another
 *   live session holding the same id makes it reject NODEEXISTS.
 * - A member whose process dies leaves after its session timeout; others see `'change'`.
 * - Suspension: membership stands while the session lives (the ensemble decides expiry); no
 *   events arrive while suspended, and changes made meanwhile are reported on reconnection.
 */
export class Membership extends EventEmitter {
  readonly #node: string
  readonly #info: string
  #remove: (() => void) | undefined
  #joined = false
  #last = ''
  #refreshing: Promise<void> = Promise.resolve()
  readonly #onState = (s: string): void => {
    if ((s === 'expired' || s === 'closed') && this.#joined) {
      this.#joined = false
      this.emit('lost')
    }
  }

  /**
   * @param zk the session membership is held by.
   * @param path the group's znode (created as PERSISTENT, with its ancestors, if missing).
   * @param id this member's id: any non-empty string, unique in the group.
   * @param info JSON published with the membership (default null).
   */
  constructor (readonly zk: Session, readonly path: string, readonly id: string, info: JsonValue = null) {
    super()
    if (typeof id !== 'string' || id === '' || id === '.' || id === '..') {
      throw new ZkError('BADARGUMENTS', `Membership: id must be a non-empty string other than "." and "..", not ${JSON.stringify(id)}`, path)
    }
    const text = JSON.stringify(info)
    if (text === undefined) throw new ZkError('BADARGUMENTS', 'Membership: info must be JSON', path)
    this.#info = text
    this.#node = `${path}/${encodeURIComponent(id)}`
  }

  /** True while this member has joined and its session lives. */
  get joined (): boolean {
    return this.#joined
  }

  /** Starts emitting `'change'` (without joining). Idempotent. */
  async start (options?: WaitOptions): Promise<void> {
    if (this.#remove !== undefined) return
    const scope = new Scope(this.zk, options, 'Membership.start', this.path)
    try {
      await ensurePath(scope, this.path)
      // Recursive: members created and deleted, and their info changed.
      this.#remove = this.zk.addWatch(this.path, (e) => {
        if (e.path.lastIndexOf('/') === this.path.length) this.#refresh()
      }, { recursive: true })
      this.zk.on('state', this.#onState)
      this.#last = key(await this.#members(scope))
    } catch (err) {
      this.#unwatch()
      throw scope.error ?? err
    } finally {
      scope.dispose()
    }
  }

  /**
   * Joins the group (and starts watching it). Resolves once this member's node exists.
   * Rejects NODEEXISTS if another live session holds this id, and as other waiting calls do
   * (OPERATIONTIMEOUT, AbortError, SESSIONEXPIRED). Idempotent while joined.
   */
  async join (options?: WaitOptions): Promise<void> {
    const watching = this.#remove !== undefined
    await this.start(options)
    if (this.#joined) return
    const scope = new Scope(this.zk, options, 'Membership.join', this.path)
    try {
      await retryUnknown(scope, async () => {
        try {
          await this.zk.create(this.#node, this.#info, { mode: CreateMode.EPHEMERAL })
        } catch (err) {
          if (!hasCode(err, 'NODEEXISTS')) throw err
          // Ours if an earlier attempt (outcome unknown) made it; else the id is taken.
          const stat = await this.zk.exists(this.#node)
          if (stat !== null && stat.ephemeralOwner === this.zk.sessionId) return
          throw new ZkError('NODEEXISTS', `Membership.join: id ${JSON.stringify(this.id)} is held by another live session (an earlier run of this member leaves when its session times out)`, this.#node)
        }
      })
      this.#joined = true
    } catch (err) {
      // A failed join leaves things as they were: not watching unless it was before.
      if (!watching) this.#unwatch()
      throw scope.error ?? err
    } finally {
      scope.dispose()
    }
  }

  /** The current members: id → info. A local read of this peer's replica. */
  async members (options?: WaitOptions): Promise<Map<string, JsonValue>> {
    const scope = new Scope(this.zk, options, 'Membership.members', this.path)
    try {
      return await this.#members(scope)
    } finally {
      scope.dispose()
    }
  }

  /** Leaves the group (deletes this member's node) but keeps watching. Idempotent. */
  async leave (options?: WaitOptions): Promise<void> {
    if (!this.#joined) return
    const scope = new Scope(this.zk, options, 'Membership.leave', this.path)
    try {
      await removeNode(scope, this.#node)
      this.#joined = false
    } finally {
      scope.dispose()
    }
  }

  /** Leaves (if joined) and stops watching: no watch or listener remains. Idempotent; never rejects. */
  async stop (): Promise<void> {
    try {
      await this.leave()
    } catch {
      // The session ended: the node went with it.
    }
    this.#joined = false
    this.#unwatch()
    await this.#refreshing
  }

  #unwatch (): void {
    this.#remove?.()
    this.#remove = undefined
    this.zk.off('state', this.#onState)
  }

  async #members (scope: Scope): Promise<Map<string, JsonValue>> {
    const out = new Map<string, JsonValue>()
    let names: string[]
    try {
      names = await scope.race(this.zk.getChildren(this.path))
    } catch (err) {
      if (hasCode(err, 'NONODE')) return out
      throw err
    }
    for (const name of names) {
      try {
        const { data } = await scope.race(this.zk.getData(`${this.path}/${name}`))
        out.set(decodeURIComponent(name), parseInfo(data))
      } catch (err) {
        // Left between the listing and the read.
        if (!hasCode(err, 'NONODE')) throw err
      }
    }
    return out
  }

  /** Queues a re-read of the members; emits `'change'` if they differ from the last emitted. */
  #refresh (): void {
    this.#refreshing = this.#refreshing.then(async () => {
      if (this.#remove === undefined) return
      const scope = new Scope(this.zk, undefined, 'Membership watch', this.path)
      try {
        const members = await this.#members(scope)
        const k = key(members)
        if (k === this.#last || this.#remove === undefined) return
        this.#last = k
        this.emit('change', members)
      } catch {
        // The session ended: events end with it.
      } finally {
        scope.dispose()
      }
    })
  }
}

/** A canonical text of a membership, to tell whether it changed. */
function key (members: ReadonlyMap<string, JsonValue>): string {
  return JSON.stringify([...members.entries()].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0))
}

function parseInfo (data: Buffer): JsonValue {
  if (data.length === 0) return null
  try {
    return JSON.parse(data.toString('utf8')) as JsonValue
  } catch {
    // A node written by someone else: report its text rather than fail the whole listing.
    return data.toString('utf8')
  }
}
