/**
 * A distributed FIFO queue (ZooKeeper's queue recipe; Curator's DistributedQueue), where every
 * item is taken exactly once.
 *
 * Items are PERSISTENT_SEQUENTIAL children `_c_<guid>-item-NNNNNNNNNN` of the queue's path, so
 * the sequence gives FIFO order. A taker claims the lowest item it can by creating an EPHEMERAL
 * `claim` child under it (NODEEXISTS: another taker has it, move on; NONODE: it is gone, move
 * on), reads it, then deletes claim and item in one multi. The claim is what makes "exactly
 * once" hold when a write's outcome is unknown: only the claim's owner deletes the item, so a
 * settled "item gone" means "we took it"; and a taker whose session dies drops its claim, so
 * the item goes back to the queue rather than being lost.
 *
 * Owns: its items and claims, and one recursive watch per waiting `take`.
 */
import { ZkError } from '../errors.js'
import { Op, type Data } from '../op.js'
import type { Session } from '../session/session.js'
import { CreateMode, type WatchEvent } from '../tree/types.js'
import {
  ensurePath, hasCode, newGuid, protectedCreate, retryUnknown, Scope, settle, sortedChildren, waitFor,
  type ProtectedChild, type WaitOptions,
} from './common.js'

/**
 * A FIFO queue at `path`.
 *
 * Contract:
 * - `take`/`poll` return items in `put` order (the order their creates were committed), and
 *   each item to exactly one taker, whatever the races and unknown outcomes among takers.
 * - `put` of a write whose outcome is unknown (CONNECTIONLOSS/OPERATIONTIMEOUT) is settled and
 *   looked up before it is retried. One case stays ambiguous: if the item was created and
 *   already taken before the put could look for it, the put retries and the item is enqueued
 *   twice (at-least-once put in that case; exactly once otherwise).
 * - Suspension: calls wait for the session to reconnect; expiry: they reject SESSIONEXPIRED,
 *   and a claim the session held is dropped, so its item is taken by someone else.
 * - Waiting takers each watch the queue (a put wakes them all: with an empty queue, every
 *   taker must look).
 */
export class Queue {
  /**
   * @param zk the session used to put and take.
   * @param path the queue's znode (created as PERSISTENT, with its ancestors, if missing).
   */
  constructor (readonly zk: Session, readonly path: string) {}

  /** Appends an item and resolves with its znode path. Bounded by `timeoutMs` and `signal`. */
  async put (data: Data, options?: WaitOptions): Promise<string> {
    const scope = new Scope(this.zk, options, 'Queue.put', this.path)
    const guid = newGuid(this.zk)
    try {
      await ensurePath(scope, this.path)
      return (await protectedCreate(scope, { dir: this.path, tag: 'item', guid, data, mode: CreateMode.PERSISTENT_SEQUENTIAL })).path
    } finally {
      scope.dispose()
    }
  }

  /**
   * Takes the first item, waiting for one if the queue is empty. Rejects with ZkError
   * OPERATIONTIMEOUT after `timeoutMs`, an AbortError when `signal` aborts, or SESSIONEXPIRED;
   * an item it had claimed but not yet taken goes back to the queue.
   */
  async take (options?: WaitOptions): Promise<Buffer> {
    const scope = new Scope(this.zk, options, 'Queue.take', this.path)
    const guid = newGuid(this.zk)
    try {
      await ensurePath(scope, this.path)
      let taken: Buffer | undefined
      // Recursive: items created (a put) and claims deleted (a dead taker's item is free again).
      const wakes = (e: WatchEvent): boolean =>
        (e.type === 'NodeCreated' && e.path.lastIndexOf('/') === this.path.length) ||
        (e.type === 'NodeDeleted' && e.path.endsWith('/claim'))
      await waitFor(scope, this.path, async () => {
        taken = await this.#takeFirst(scope, guid)
        return taken !== undefined
      }, wakes, { recursive: true })
      if (taken === undefined) throw new ZkError('SYSTEMERROR', 'Queue.take: woke without an item', this.path)
      return taken
    } catch (err) {
      throw scope.error ?? err
    } finally {
      scope.dispose()
    }
  }

  /** Takes the first item, or resolves undefined at once when the queue is empty. */
  async poll (options?: WaitOptions): Promise<Buffer | undefined> {
    const scope = new Scope(this.zk, options, 'Queue.poll', this.path)
    try {
      if (await scope.race(this.zk.exists(this.path)) === null) return undefined
      return await this.#takeFirst(scope, newGuid(this.zk))
    } finally {
      scope.dispose()
    }
  }

  /** Number of items not yet taken (claimed ones included). A local read. */
  async size (): Promise<number> {
    const scope = new Scope(this.zk, undefined, 'Queue.size', this.path)
    try {
      if (await this.zk.exists(this.path) === null) return 0
      return (await sortedChildren(scope, this.path, ['item'])).length
    } finally {
      scope.dispose()
    }
  }

  /** Tries the items in order; resolves with the first one it takes, or undefined. */
  async #takeFirst (scope: Scope, guid: string): Promise<Buffer | undefined> {
    for (const item of await sortedChildren(scope, this.path, ['item'])) {
      const data = await this.#tryTake(scope, item, guid)
      if (data !== undefined) return data
    }
    return undefined
  }

  /** Claims, reads and deletes one item; undefined when someone else has it or took it. */
  async #tryTake (scope: Scope, item: ProtectedChild, guid: string): Promise<Buffer | undefined> {
    const claim = `${item.path}/claim`
    try {
      const claimed = await retryUnknown(scope, async () => {
        try {
          await this.zk.create(claim, guid, { mode: CreateMode.EPHEMERAL })
          return true
        } catch (err) {
          if (hasCode(err, 'NONODE')) return false
          if (!hasCode(err, 'NODEEXISTS')) throw err
          // Ours only if an earlier attempt of this very call (outcome unknown) made it.
          const { data } = await this.zk.getData(claim)
          return data.toString('utf8') === guid
        }
      })
      if (!claimed) return undefined
      const { data } = await scope.race(this.zk.getData(item.path))
      // The point of no return: once the delete is sent, the item is ours whatever the caller's
      // timeout or signal says, so it is finished without them (bounded by the session's life).
      const commit = new Scope(this.zk, undefined, 'Queue.take', this.path)
      try {
        await retryUnknown(commit, async () => {
          try {
            await this.zk.multi([Op.delete(claim), Op.delete(item.path)])
          } catch (err) {
            // Settled and gone: only the claim's owner deletes an item, so we already did.
            if (!hasCode(err, 'NONODE')) throw err
          }
        })
      } finally {
        commit.dispose()
      }
      return data
    } catch (err) {
      // The claim was lost or contested (e.g. NONODE reading a claim that vanished): move on;
      // a failure we cannot explain, or the end of the call, is the caller's.
      if (hasCode(err, 'NONODE') && scope.error === undefined) return undefined
      await this.#dropClaim(claim, guid)
      throw err
    }
  }

  /**
   * Best-effort: deletes `claim` if this call owns it, so its item goes back to the queue now
   * rather than when the session ends. Waited for while connected, else left to finish in the
   * background (as `cleanupOwn` does). Never throws.
   */
  async #dropClaim (claim: string, guid: string): Promise<void> {
    const drop = (async (): Promise<void> => {
      const scope = new Scope(this.zk, undefined, 'Queue.take cleanup', claim)
      try {
        await settle(scope)
        const { data, stat } = await scope.race(this.zk.getData(claim))
        if (data.toString('utf8') !== guid) return
        await retryUnknown(scope, async () => {
          try {
            await this.zk.delete(claim, stat.version)
          } catch (err) {
            if (!hasCode(err, 'NONODE')) throw err
          }
        })
      } catch {
        // Gone already, or the session ended and took the ephemeral claim with it.
      } finally {
        scope.dispose()
      }
    })()
    if (this.zk.state === 'connected') await drop
  }
}
