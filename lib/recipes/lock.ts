/**
 * A distributed mutex (ZooKeeper's lock recipe; Curator's InterProcessMutex, minus re-entrance)
 * with fencing tokens, and `withLock`.
 *
 * Each acquisition creates an EPHEMERAL_SEQUENTIAL child `_c_<guid>-lock-NNNNNNNNNN` of the lock
 * path; the lowest sequence holds the lock; every other waiter watches only the child just
 * before its own (no herd effect: a release wakes one waiter). The lock path itself is a
 * PERSISTENT znode created on first use and never deleted by this recipe.
 *
 * Owns: its own children of the lock path, and one watch per waiting acquisition (none while
 * held). Touches nothing else.
 */
import type { Session } from '../session/session.js'
import { CreateMode } from '../tree/types.js'
import {
  cleanupOwn, ensurePath, newGuid, protectedCreate, removeNode, Scope, sortedChildren, waitGone,
  type ProtectedChild, type WaitOptions,
} from './common.js'
import { Lease } from './lease.js'

/**
 * Decides, from the queue of children in sequence order, whether `mine` holds: returns the
 * child to wait for (whose deletion may change the answer), or undefined when `mine` holds.
 */
export type QueueRule = (mine: ProtectedChild, queue: readonly ProtectedChild[]) => ProtectedChild | undefined

/**
 * @internal The queueing algorithm shared by Lock and ReadWriteLock: creates a protected
 * EPHEMERAL_SEQUENTIAL child tagged `tag` under `dir`, then waits, watching one node at a time,
 * until `rule` says it holds. On timeout, abort or any failure it deletes its child and rejects.
 */
export async function acquireInQueue (
  zk: Session, options: { dir: string, tag: string, tags: readonly string[], guid: string, what: string, rule: QueueRule },
  wait: WaitOptions | undefined,
): Promise<Lease> {
  const { dir, tag, tags, guid, what, rule } = options
  const scope = new Scope(zk, wait, what, dir)
  try {
    await ensurePath(scope, dir)
    const create = (): ReturnType<typeof protectedCreate> => protectedCreate(scope, { dir, tag, guid, mode: CreateMode.EPHEMERAL_SEQUENTIAL })
    let mine = await create()
    for (;;) {
      const queue = await sortedChildren(scope, dir, tags)
      // A late duplicate of our own create (an unknown outcome applied after all) would wait
      // behind us forever; drop it.
      for (const c of queue) if (c.guid === guid && c.seq !== mine.seq) await removeNode(scope, c.path)
      if (mine.stat === undefined || !queue.some((c) => c.seq === mine.seq)) {
        // Our node vanished while the session lives: someone deleted it. Queue again, at the end.
        mine = await create()
        continue
      }
      const blocker = rule(mine, queue.filter((c) => c.guid !== guid || c.seq === mine.seq))
      if (blocker === undefined) return new Lease(zk, mine.stat.czxid, mine.path, dir, guid)
      await waitGone(scope, blocker.path)
    }
  } catch (err) {
    await cleanupOwn(zk, dir, guid)
    throw scope.error ?? err
  } finally {
    scope.dispose()
  }
}

/** Options of {@link Lock.acquire}. */
export type AcquireOptions = WaitOptions

/**
 * A mutex over the znode at `path`.
 *
 * Contract:
 * - At most one {@link Lease} per lock path is held at a time, across all sessions and peers,
 *   as long as holders' sessions live. Acquisitions are granted in request order.
 * - Not re-entrant: two acquisitions from one process (even one Lock object) exclude each other.
 * - `fencingToken` strictly increases from one holder to the next (see {@link Lease.fencingToken}).
 * - Suspension: a holder gets `'suspended'` on its lease (it may lose the lock if its session
 *   expires meanwhile); expiry or close: `'lost'`, `lease.lost`, and `lease.signal` aborts.
 *   A waiting acquire keeps waiting while suspended and rejects SESSIONEXPIRED on expiry.
 */
export class Lock {
  /**
   * @param zk the session the lock is held by; the lock is lost when it ends.
   * @param path the lock's znode (created as PERSISTENT, with its ancestors, if missing).
   */
  constructor (readonly zk: Session, readonly path: string) {}

  /**
   * Waits until this caller holds the lock and resolves with the lease. Rejects with ZkError
   * OPERATIONTIMEOUT after `timeoutMs`, a DOMException AbortError when `signal` aborts, or
   * SESSIONEXPIRED when the session ends; in every case its queue node is removed first.
   */
  async acquire (options?: AcquireOptions): Promise<Lease> {
    return await acquireInQueue(this.zk, {
      dir: this.path, tag: 'lock', tags: ['lock'], guid: newGuid(this.zk), what: 'Lock.acquire', rule: predecessor,
    }, options)
  }

  /** True if anyone holds or waits for the lock (a local read, possibly slightly stale). */
  async isLocked (): Promise<boolean> {
    const scope = new Scope(this.zk, undefined, 'Lock.isLocked', this.path)
    try {
      if (await this.zk.exists(this.path) === null) return false
      return (await sortedChildren(scope, this.path, ['lock'])).length > 0
    } finally {
      scope.dispose()
    }
  }
}

/**
 * Runs `fn` while holding the lock at `path`, and releases the lock however `fn` ends. `fn`
 * receives the lease (for its fencing token, and its `signal` to stop when the lock is lost).
 * Rejects as {@link Lock.acquire} does, or with `fn`'s error.
 */
export async function withLock<T> (zk: Session, path: string, fn: (lease: Lease) => Promise<T> | T, options?: AcquireOptions): Promise<T> {
  const lease = await new Lock(zk, path).acquire(options)
  try {
    return await fn(lease)
  } finally {
    await lease.release()
  }
}

/** The mutex rule: hold when first; otherwise wait for the one just before. */
function predecessor (mine: ProtectedChild, queue: readonly ProtectedChild[]): ProtectedChild | undefined {
  const i = queue.findIndex((c) => c.seq === mine.seq)
  return i > 0 ? queue[i - 1] : undefined
}
