/**
 * Leader election (ZooKeeper's recipe; Curator's LeaderLatch).
 *
 * Each candidate creates an EPHEMERAL_SEQUENTIAL child `_c_<guid>-n-NNNNNNNNNN` of the election
 * path holding its id (UTF-8). The lowest sequence leads. A follower watches only the child just
 * before its own (no herd effect: when the leader goes, one candidate wakes); the leader watches
 * its own node, so it notices if that node is deleted from outside.
 *
 * Owns: its candidate node, one watch, and one 'state' listener on the session, from start()
 * to stop() or the session's end.
 */
import { EventEmitter } from 'node:events'
import { ZkError } from '../errors.js'
import type { Session } from '../session/session.js'
import { CreateMode } from '../tree/types.js'
import {
  cleanupOwn, ensurePath, hasCode, newGuid, protectedCreate, removeNode, Scope, sortedChildren, waitGone,
  type CreatedChild, type WaitOptions,
} from './common.js'

/** Why leadership was revoked, as the `'revoked'` event reports it. */
export type RevokeReason = 'suspended' | 'expired' | 'closed' | 'stopped' | 'deleted' | 'error'

/** Options of {@link LeaderElection}. */
export interface LeaderElectionOptions {
  /** This candidate's id, reported by `leader()`. Any string; need not be unique, but should be. */
  readonly id: string
}

/**
 * One candidate in the election at `path`.
 *
 * Events: `'elected'` when this candidate becomes leader; `'revoked'` with a
 * {@link RevokeReason} when it stops being leader.
 *
 * Contract:
 * - While sessions live, at most one candidate of an election has `isLeader` true at a time
 *   from the ensemble's point of view; leadership passes in candidacy order.
 * - Suspension: a leader whose session is suspended is revoked at once (`'revoked'`,
 *   `'suspended'`): it cannot know whether its session expired meanwhile. When the session
 *   reconnects and its node is still first, it is elected again (`'elected'`).
 * - Expiry or close of the session: `'revoked'` (`'expired'`/`'closed'`) if it led, and the
 *   candidacy is over (its node went with the session); build a new LeaderElection on a new
 *   session to run again.
 * - An unexpected error ends the candidacy the same way, with reason `'error'`.
 */
export class LeaderElection extends EventEmitter {
  readonly #id: string
  #leader = false
  #guid: string | undefined
  #run: AbortController | undefined
  #loop: Promise<void> | undefined

  /**
   * @param zk the session candidacy is held by.
   * @param path the election's znode (created as PERSISTENT, with its ancestors, if missing).
   * @param options this candidate's id.
   */
  constructor (readonly zk: Session, readonly path: string, options: LeaderElectionOptions) {
    super()
    if (typeof options?.id !== 'string') throw new ZkError('BADARGUMENTS', 'LeaderElection: options.id must be a string', path)
    this.#id = options.id
  }

  /** This candidate's id. */
  get id (): string {
    return this.#id
  }

  /** True while this candidate leads and its session is connected. */
  get isLeader (): boolean {
    return this.#leader
  }

  /**
   * Joins the election: creates this candidate's node and resolves once it knows whether it
   * leads (`'elected'` has been emitted if so). Bounded by `timeoutMs` and `signal` (rejecting
   * OPERATIONTIMEOUT / AbortError, with nothing left behind). Rejects BADARGUMENTS if started twice.
   */
  async start (options?: WaitOptions): Promise<void> {
    if (this.#run !== undefined) throw new ZkError('BADARGUMENTS', 'LeaderElection.start: already started', this.path)
    const run = new AbortController()
    this.#run = run
    const guid = newGuid(this.zk)
    this.#guid = guid
    const scope = new Scope(this.zk, options, 'LeaderElection.start', this.path)
    let mine: CreatedChild
    try {
      await ensurePath(scope, this.path)
      mine = await protectedCreate(scope, { dir: this.path, tag: 'n', guid, data: this.#id, mode: CreateMode.EPHEMERAL_SEQUENTIAL })
    } catch (err) {
      this.#run = undefined
      await cleanupOwn(this.zk, this.path, guid)
      throw scope.error ?? err
    } finally {
      scope.dispose()
    }
    await new Promise<void>((resolve) => {
      this.#loop = this.#campaign(mine, run.signal, resolve)
    })
  }

  /**
   * Resolves with the current leader's id, or undefined when there is no candidate. Syncs
   * first, so the answer reflects every change committed before the call. Bounded by
   * `timeoutMs` and `signal`.
   */
  async leader (options?: WaitOptions): Promise<string | undefined> {
    const scope = new Scope(this.zk, options, 'LeaderElection.leader', this.path)
    try {
      await scope.race(this.zk.sync(this.path))
      for (;;) {
        if (await scope.race(this.zk.exists(this.path)) === null) return undefined
        const [first] = await sortedChildren(scope, this.path, ['n'])
        if (first === undefined) return undefined
        try {
          return (await scope.race(this.zk.getData(first.path))).data.toString('utf8')
        } catch (err) {
          // The leader left between the listing and the read: ask again.
          if (!hasCode(err, 'NONODE')) throw err
        }
      }
    } finally {
      scope.dispose()
    }
  }

  /**
   * Leaves the election: revokes leadership (`'revoked'`, `'stopped'`) if held, deletes the
   * candidate node and removes every watch and listener. Idempotent; never rejects.
   */
  async stop (): Promise<void> {
    const run = this.#run
    if (run === undefined) return
    run.abort()
    await this.#loop
    const guid = this.#guid
    if (guid !== undefined) await cleanupOwn(this.zk, this.path, guid)
  }

  /** Runs the candidacy until `stop` aborts or the session ends; calls `decided` after the first verdict. */
  async #campaign (first: CreatedChild, stop: AbortSignal, decided: () => void): Promise<void> {
    const scope = new Scope(this.zk, { signal: stop }, 'LeaderElection', this.path)
    let mine: CreatedChild = first
    try {
      for (;;) {
        await scope.connected()
        const queue = await sortedChildren(scope, this.path, ['n'])
        for (const c of queue) if (c.guid === mine.guid && c.seq !== mine.seq) await removeNode(scope, c.path)
        const i = queue.findIndex((c) => c.seq === mine.seq)
        if (i < 0) {
          // Our node was deleted from outside while the session lives: stand again, at the end.
          this.#setLeader(false, 'deleted')
          mine = await protectedCreate(scope, { dir: this.path, tag: 'n', guid: mine.guid, data: this.#id, mode: CreateMode.EPHEMERAL_SEQUENTIAL })
          continue
        }
        const before = queue[i - 1]
        if (before !== undefined) {
          this.#setLeader(false, 'deleted')
          decided()
          await waitGone(scope, before.path)
          continue
        }
        this.#setLeader(true, 'deleted')
        decided()
        // Lead until our node goes or the session is suspended.
        await this.#whileLeading(scope, mine.path)
        // Our node's deletion is delivered just before the session's end, when that is the cause.
        const state = this.zk.state
        this.#setLeader(false, state === 'connected' ? 'deleted' : state)
      }
    } catch {
      const state = this.zk.state
      this.#setLeader(false, stop.aborted ? 'stopped' : state === 'expired' ? 'expired' : state === 'closed' ? 'closed' : 'error')
      if (state !== 'expired' && state !== 'closed') await cleanupOwn(this.zk, this.path, mine.guid)
      // Once over, the candidacy can be started again (e.g. after an error).
      if (!stop.aborted) this.#run = undefined
    } finally {
      scope.dispose()
      decided()
    }
  }

  /** Resolves when our node is deleted or the session is suspended; rejects when the scope ends. */
  async #whileLeading (scope: Scope, path: string): Promise<void> {
    let wake: (() => void) | undefined
    const remove = this.zk.addWatch(path, (e) => { if (e.type === 'NodeDeleted') wake?.() })
    try {
      if (await scope.race(this.zk.exists(path)) === null) return
      // Suspended between the verdict and here: the 'state' event has passed already.
      if (this.zk.state !== 'connected') return
      await scope.wait((w) => {
        wake = w
        const onState = (s: string): void => { if (s === 'suspended') w() }
        this.zk.on('state', onState)
        return () => {
          wake = undefined
          this.zk.off('state', onState)
        }
      })
    } finally {
      remove()
    }
  }

  #setLeader (leader: boolean, reason: RevokeReason): void {
    if (leader === this.#leader) return
    this.#leader = leader
    if (leader) this.emit('elected')
    else this.emit('revoked', reason)
  }
}
