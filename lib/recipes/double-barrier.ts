/**
 * A double barrier (ZooKeeper's recipe; Curator's DistributedDoubleBarrier): `count`
 * participants enter together and leave together.
 *
 * Layout under the barrier's path: one EPHEMERAL child per participant, named `_c_<guid>-p`
 * (unique, so an unknown create is settled by NODEEXISTS), and `ready`, created by the
 * participant that sees `count` of them. `enter` waits for `ready`. `leave` follows
 * ZooKeeper's algorithm: the lowest participant waits for the highest to go, every other deletes
 * its node and waits for the lowest; the last one out deletes its node and `ready` in one multi,
 * so the barrier can be used again.
 *
 * Owns: its participant node, `ready` (shared), and one watch per waiting call.
 */
import { ZkError } from '../errors.js'
import { Op } from '../op.js'
import type { Session } from '../session/session.js'
import { CreateMode } from '../tree/types.js'
import {
  cleanupOwn, ensurePath, hasCode, newGuid, removeNode, retryUnknown, Scope, waitExists, waitGone, type WaitOptions,
} from './common.js'

/**
 * A double barrier of `count` participants at `path`. One object is one participant.
 *
 * Contract: `enter()` resolves once `count` participants have entered; `leave()` resolves
 * once every participant has left. A participant whose session ends leaves (its node is
 * ephemeral), which may leave others waiting in `enter` until their timeout. Suspension: waits
 * go on; expiry: they reject SESSIONEXPIRED. Every participant must use the same `count`.
 */
export class DoubleBarrier {
  #guid: string | undefined

  /**
   * @param zk the session participation is held by.
   * @param path the barrier's znode (created as PERSISTENT, with its ancestors, if missing).
   * @param count how many participants enter together (a positive integer).
   */
  constructor (readonly zk: Session, readonly path: string, readonly count: number) {
    if (!Number.isInteger(count) || count < 1) throw new ZkError('BADARGUMENTS', `DoubleBarrier: count must be a positive integer, not ${String(count)}`, path)
  }

  /**
   * Joins and waits until `count` participants have joined. Rejects with ZkError
   * OPERATIONTIMEOUT, an AbortError, or SESSIONEXPIRED, after removing its node; rejects
   * BADARGUMENTS if this participant has already entered.
   */
  async enter (options?: WaitOptions): Promise<void> {
    if (this.#guid !== undefined) throw new ZkError('BADARGUMENTS', 'DoubleBarrier.enter: already entered', this.path)
    const guid = newGuid(this.zk)
    this.#guid = guid
    const mine = `${this.path}/_c_${guid}-p`
    const ready = `${this.path}/ready`
    const scope = new Scope(this.zk, options, 'DoubleBarrier.enter', this.path)
    try {
      await ensurePath(scope, this.path)
      await retryUnknown(scope, async () => {
        try {
          await this.zk.create(mine, '', { mode: CreateMode.EPHEMERAL })
        } catch (err) {
          // The name is ours alone: it exists only if an earlier, unknown attempt made it.
          if (!hasCode(err, 'NODEEXISTS')) throw err
        }
      })
      if ((await this.#participants(scope)).length >= this.count) {
        await retryUnknown(scope, async () => {
          try {
            await this.zk.create(ready)
          } catch (err) {
            if (!hasCode(err, 'NODEEXISTS')) throw err
          }
        })
      }
      await waitExists(scope, ready)
    } catch (err) {
      this.#guid = undefined
      await cleanupOwn(this.zk, this.path, guid)
      throw scope.error ?? err
    } finally {
      scope.dispose()
    }
  }

  /**
   * Leaves and waits until every participant has left. Rejects as `enter` does (its node is
   * deleted before it waits for others, except for the lowest participant, whose node is
   * deleted on failure). Resolves at once if this participant has not entered.
   */
  async leave (options?: WaitOptions): Promise<void> {
    const guid = this.#guid
    if (guid === undefined) return
    const mine = `${this.path}/_c_${guid}-p`
    const scope = new Scope(this.zk, options, 'DoubleBarrier.leave', this.path)
    try {
      for (;;) {
        const all = await this.#participants(scope)
        const lowest = all[0]
        const highest = all[all.length - 1]
        if (lowest === undefined || highest === undefined) break
        if (all.length === 1 && lowest === mine) {
          await this.#leaveLast(scope, mine)
          break
        }
        if (lowest === mine) {
          await waitGone(scope, highest)
        } else {
          if (all.includes(mine)) await removeNode(scope, mine)
          await waitGone(scope, lowest)
        }
      }
      this.#guid = undefined
    } catch (err) {
      this.#guid = undefined
      await cleanupOwn(this.zk, this.path, guid)
      throw scope.error ?? err
    } finally {
      scope.dispose()
    }
  }

  /** The last participant out removes `ready` with its own node, atomically. */
  async #leaveLast (scope: Scope, mine: string): Promise<void> {
    await retryUnknown(scope, async () => {
      try {
        await this.zk.multi([Op.delete(`${this.path}/ready`), Op.delete(mine)])
      } catch (err) {
        // `ready` or our node already gone (e.g. an earlier, unknown attempt): finish alone.
        if (!hasCode(err, 'NONODE')) throw err
        await removeNode(scope, mine)
      }
    })
  }

  /** Paths of the participant nodes, sorted by name. */
  async #participants (scope: Scope): Promise<string[]> {
    const names = await scope.race(this.zk.getChildren(this.path))
    return names.filter((n) => n.startsWith('_c_')).map((n) => `${this.path}/${n}`)
  }
}
