/**
 * A distributed counting semaphore (Curator's InterProcessSemaphoreV2 design).
 *
 * Layout under the semaphore's path: `lock/` holds a {@link Lock} that serializes acquirers,
 * and `leases/` holds one EPHEMERAL_SEQUENTIAL child per granted permit. An acquirer takes the
 * lock, creates its lease node, and holds a permit once at most `permits` lease nodes exist with
 * its own among the first `permits`; otherwise it waits, still holding the lock, for the lease
 * children to change, then releases the lock. Only the lock holder watches `leases/`, and the
 * other acquirers each watch one predecessor in the lock queue: no herd effect, FIFO grants.
 *
 * Owns: its own children of `lock/` and `leases/`; at most one watch per waiting acquisition.
 */
import { ZkError } from '../errors.js'
import type { Session } from '../session/session.js'
import { CreateMode } from '../tree/types.js'
import {
  cleanupOwn, ensurePath, newGuid, protectedCreate, Scope, sortedChildren, waitFor, type WaitOptions,
} from './common.js'
import { Lease } from './lease.js'
import { Lock } from './lock.js'

/**
 * A semaphore of `permits` permits over the znode at `path`.
 *
 * Contract: at most `permits` leases are held at a time across all sessions, while holders'
 * sessions live (every participant must use the same `permits`). Grants follow request order.
 * A lease's `fencingToken` is its node's czxid (increasing in grant order). Suspension and
 * expiry behave as for `Lock` (`'suspended'`, `'lost'`, `lease.signal`); a permit whose session
 * expires is freed for others.
 */
export class Semaphore {
  readonly #lock: Lock
  readonly #leases: string

  /**
   * @param zk the session permits are held by.
   * @param path the semaphore's znode (created as PERSISTENT if missing).
   * @param permits how many leases may be held at once (a positive integer).
   */
  constructor (readonly zk: Session, readonly path: string, readonly permits: number) {
    if (!Number.isInteger(permits) || permits < 1) throw new ZkError('BADARGUMENTS', `Semaphore: permits must be a positive integer, not ${String(permits)}`, path)
    this.#lock = new Lock(zk, `${path}/lock`)
    this.#leases = `${path}/leases`
  }

  /**
   * Waits for a permit and resolves with its lease. Rejects with ZkError OPERATIONTIMEOUT after
   * `timeoutMs`, an AbortError when `signal` aborts, or SESSIONEXPIRED, after removing its nodes.
   */
  async acquire (options?: WaitOptions): Promise<Lease> {
    const scope = new Scope(this.zk, options, 'Semaphore.acquire', this.path)
    const dir = this.#leases
    const guid = newGuid(this.zk)
    try {
      await ensurePath(scope, dir)
      // The lock gets the caller's bounds too: the scope's signal covers timeout, abort and expiry.
      const turn = await this.#lock.acquire({ signal: scope.signal })
      try {
        const mine = await protectedCreate(scope, { dir, tag: 'lease', guid, mode: CreateMode.EPHEMERAL_SEQUENTIAL })
        const granted = async (): Promise<boolean> => {
          const leases = await sortedChildren(scope, dir, ['lease'])
          const i = leases.findIndex((c) => c.seq === mine.seq)
          if (i < 0) throw new ZkError('NONODE', 'Semaphore.acquire: the lease node was deleted while waiting', mine.path)
          return i < this.permits
        }
        // Any lease leaving may free a permit; only this acquirer (the lock holder) watches.
        await waitFor(scope, dir, granted, (e) => e.type === 'NodeChildrenChanged')
        // Granted means our node was listed, so its stat was read while it existed.
        if (mine.stat === undefined) throw new ZkError('NONODE', 'Semaphore.acquire: the lease node was deleted while waiting', mine.path)
        return new Lease(this.zk, mine.stat.czxid, mine.path, dir, guid)
      } finally {
        await turn.release()
      }
    } catch (err) {
      await cleanupOwn(this.zk, dir, guid)
      throw scope.error ?? err
    } finally {
      scope.dispose()
    }
  }
}
