/**
 * The leader's queue of ReadIndex requests (Raft thesis §6.4). A request records the commit
 * index when it arrives and waits for one heartbeat round, started after it, to be acknowledged
 * by a quorum: then no newer leader can have committed anything this leader does not know, and
 * the read may be served once applied up to the recorded index.
 *
 * Requests arriving between two Readys share one round (`seq`), so a burst of reads costs one
 * heartbeat broadcast. Requests are released in arrival order; their indexes never decrease.
 * The queue is dropped when leadership is lost: hosts time reads out and retry.
 */
import { assert } from '../assert.js'
import type { PeerId } from './types.js'

/** One ReadIndex request waiting for its round to be confirmed. */
export interface PendingRead {
  readonly ctx: string
  /** Who asked: the leader itself or a follower. */
  readonly from: PeerId
  /** Commit index when the request arrived. */
  readonly index: number
  /** The heartbeat round that confirms it. */
  readonly seq: number
}

/** FIFO of pending reads plus the round counter. */
export class ReadOnlyQueue {
  /** Latest round broadcast. */
  seq = 0
  /** A request awaits a round not yet broadcast. */
  roundNeeded = false
  private queue: PendingRead[] = []
  private head = 0
  /** Limit on queued reads; beyond it `add` refuses so memory stays bounded. */
  constructor (private readonly maxPending: number) {}

  /** Number of requests waiting. */
  size (): number {
    return this.queue.length - this.head
  }

  /** Queues a read at commit `index` for the next round; false when the queue is full. */
  add (ctx: string, from: PeerId, index: number): boolean {
    if (this.size() >= this.maxPending) return false
    const last = this.size() > 0 ? this.queue[this.queue.length - 1] : undefined
    assert(last === undefined || last.index <= index, 'read indexes never decrease')
    this.queue.push({ ctx, from, index, seq: this.seq + 1 })
    this.roundNeeded = true
    return true
  }

  /** Starts the round covering all requests queued so far; returns its number. */
  startRound (): number {
    this.roundNeeded = false
    return ++this.seq
  }

  /** Removes and passes to `onRead`, in order, every request whose round is at most `confirmed`. */
  release (confirmed: number, onRead: (read: PendingRead) => void): void {
    while (this.head < this.queue.length && this.queue[this.head].seq <= confirmed) {
      onRead(this.queue[this.head++])
    }
    if (this.head === this.queue.length) {
      this.queue.length = 0
      this.head = 0
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head)
      this.head = 0
    }
  }
}
