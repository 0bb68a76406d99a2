/**
 * A distributed barrier (ZooKeeper's barrier recipe; Curator's DistributedBarrier): while the
 * barrier's znode exists, `wait()` blocks; removing it releases every waiter.
 *
 * Owns: the barrier znode (PERSISTENT, so the barrier outlives the session that set it) and
 * one watch per waiting call, removed when the wait ends.
 */
import type { Session } from '../session/session.js'
import { ensurePath, hasCode, removeNode, retryUnknown, Scope, waitGone, type WaitOptions } from './common.js'

/**
 * A barrier at `path`.
 *
 * Contract: `wait()` resolves once the barrier znode does not exist (at once if it is not set).
 * Every waiter watches the barrier node itself, so `remove()` wakes all of them: that is the
 * purpose of a barrier, not a herd. Suspension: waits go on (nothing is lost: watches live on
 * the peer); expiry: waits reject SESSIONEXPIRED. The barrier node is persistent, so a set
 * barrier survives the setter's session.
 */
export class Barrier {
  /**
   * @param zk the session used to set, remove and wait.
   * @param path the barrier's znode.
   */
  constructor (readonly zk: Session, readonly path: string) {}

  /** Sets the barrier (creates its znode and missing ancestors). Idempotent. */
  async set (options?: WaitOptions): Promise<void> {
    const scope = new Scope(this.zk, options, 'Barrier.set', this.path)
    try {
      const parent = this.path.slice(0, this.path.lastIndexOf('/'))
      if (parent !== '') await ensurePath(scope, parent)
      await retryUnknown(scope, async () => {
        try {
          await this.zk.create(this.path)
        } catch (err) {
          if (!hasCode(err, 'NODEEXISTS')) throw err
        }
      })
    } finally {
      scope.dispose()
    }
  }

  /** Removes the barrier, releasing every waiter. Idempotent. */
  async remove (options?: WaitOptions): Promise<void> {
    const scope = new Scope(this.zk, options, 'Barrier.remove', this.path)
    try {
      await removeNode(scope, this.path)
    } finally {
      scope.dispose()
    }
  }

  /**
   * Resolves once the barrier is not set. Rejects with ZkError OPERATIONTIMEOUT after
   * `timeoutMs`, an AbortError when `signal` aborts, or SESSIONEXPIRED; its watch is removed.
   */
  async wait (options?: WaitOptions): Promise<void> {
    const scope = new Scope(this.zk, options, 'Barrier.wait', this.path)
    try {
      await waitGone(scope, this.path)
    } finally {
      scope.dispose()
    }
  }
}
