/**
 * A distributed read/write lock (ZooKeeper's "shared locks" recipe; Curator's
 * InterProcessReadWriteLock, minus re-entrance and downgrade).
 *
 * Readers and writers queue as EPHEMERAL_SEQUENTIAL children of one path, tagged `read` or
 * `write`, so the sequence numbers give one arrival order. A writer holds when it is first in
 * the queue and watches the child just before it; a reader holds when no writer is before it
 * and watches the last writer before it. Each waiter watches one node (no herd effect), and
 * requests are served in arrival order (a waiting writer blocks later readers: no starvation).
 *
 * Owns: its own children of the lock path; one watch per waiting acquisition.
 */
import type { Session } from '../session/session.js'
import { newGuid, type ProtectedChild, type WaitOptions } from './common.js'
import type { Lease } from './lease.js'
import { acquireInQueue } from './lock.js'

/** One side of a {@link ReadWriteLock}. */
export interface LockSide {
  /**
   * Waits until this side is held; rejects as `Lock.acquire` does (OPERATIONTIMEOUT,
   * AbortError, SESSIONEXPIRED), after removing its queue node.
   */
  acquire (options?: WaitOptions): Promise<Lease>
}

/**
 * A read/write lock over the znode at `path`: any number of readers, or one writer.
 *
 * Contract: readers and writers exclude each other, writers exclude writers, while holders'
 * sessions live; grants follow arrival order. The write side's fencing tokens strictly increase
 * from one writer to the next, and every lease's token exceeds that of every writer that held
 * before it. Suspension and expiry behave as for {@link Lock} (`'suspended'`, `'lost'`,
 * `lease.signal`).
 */
export class ReadWriteLock {
  /** The shared side: held together with other readers, never with a writer. */
  readonly readLock: LockSide
  /** The exclusive side. */
  readonly writeLock: LockSide

  /**
   * @param zk the session leases are held by.
   * @param path the lock's znode (created as PERSISTENT, with its ancestors, if missing).
   */
  constructor (readonly zk: Session, readonly path: string) {
    this.readLock = {
      acquire: (options) => acquireInQueue(zk, {
        dir: path, tag: 'read', tags: TAGS, guid: newGuid(zk), what: 'ReadWriteLock.readLock.acquire', rule: readRule,
      }, options),
    }
    this.writeLock = {
      acquire: (options) => acquireInQueue(zk, {
        dir: path, tag: 'write', tags: TAGS, guid: newGuid(zk), what: 'ReadWriteLock.writeLock.acquire', rule: writeRule,
      }, options),
    }
  }
}

const TAGS = ['read', 'write'] as const

/** A reader waits for the last writer queued before it. */
function readRule (mine: ProtectedChild, queue: readonly ProtectedChild[]): ProtectedChild | undefined {
  let blocker: ProtectedChild | undefined
  for (const c of queue) {
    if (c.seq >= mine.seq) break
    if (c.tag === 'write') blocker = c
  }
  return blocker
}

/** A writer waits for whoever is just before it. */
function writeRule (mine: ProtectedChild, queue: readonly ProtectedChild[]): ProtectedChild | undefined {
  const i = queue.findIndex((c) => c.seq === mine.seq)
  return i > 0 ? queue[i - 1] : undefined
}
