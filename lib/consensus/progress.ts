/**
 * The leader's view of one follower's replication (Raft §5.3, etcd-style flow control).
 *
 * States:
 * - `probe`: we do not know where the follower's log matches; one append at a time, then wait
 *   for its answer (or a heartbeat answer) before trying again.
 * - `replicate`: the follower is matching; appends are pipelined optimistically, `next` runs
 *   ahead of `match`, bounded by {@link Inflights} (count and bytes).
 * - `snapshot`: the follower needs entries we compacted; we stream it the snapshot in chunks.
 *
 * Invariants: `match < next`; `match` only grows within a term (acks are durable), except
 * through `forgetTo` when a follower without durable storage restarted; a fresh Progress is
 * created for every term the core leads.
 */
import { assert } from '../assert.js'
import type { OutgoingSnapshot, PeerId } from './types.js'

/** Replication state of one follower, as seen by the leader. */
export type ProgressState = 'probe' | 'replicate' | 'snapshot'

/**
 * A bounded FIFO of appends in flight to one follower: each slot holds the last index an append
 * carried and its bytes. A ring buffer of preallocated number arrays, so the hot path allocates
 * nothing.
 */
export class Inflights {
  private readonly lastIndexes: number[]
  private readonly sizes: number[]
  private start = 0
  /** Appends in flight. */
  count = 0
  /** Entry bytes in flight. */
  bytes = 0

  /** `maxCount` appends and `maxBytes` bytes may be in flight (one append always may). */
  constructor (private readonly maxCount: number, private readonly maxBytes: number) {
    assert(maxCount >= 1, 'at least one append in flight')
    this.lastIndexes = new Array<number>(maxCount).fill(0)
    this.sizes = new Array<number>(maxCount).fill(0)
  }

  /** True when no further append may be sent until some are acknowledged. */
  full (): boolean {
    return this.count === this.maxCount || (this.count > 0 && this.bytes >= this.maxBytes)
  }

  /** Records an append whose last entry is `lastIndex`; indexes must increase. */
  add (lastIndex: number, bytes: number): void {
    assert(!this.full(), 'inflights are not full')
    const slot = (this.start + this.count) % this.maxCount
    this.lastIndexes[slot] = lastIndex
    this.sizes[slot] = bytes
    this.count++
    this.bytes += bytes
  }

  /** Frees every append whose last index is at most `index` (acknowledged). */
  freeTo (index: number): void {
    while (this.count > 0 && this.lastIndexes[this.start] <= index) {
      this.bytes -= this.sizes[this.start]
      this.start = (this.start + 1) % this.maxCount
      this.count--
    }
  }

  /** Forgets everything in flight (state change: they are lost or irrelevant). */
  reset (): void {
    this.start = 0
    this.count = 0
    this.bytes = 0
  }
}

/** One follower's progress. Mutable; owned by the core while it leads. */
export class Progress {
  /** Highest index known durably replicated on the follower. */
  match = 0
  /** Next index to send. */
  next: number
  state: ProgressState = 'probe'
  /** In probe state: an append is out and unanswered, so wait. */
  probeSent = false
  /** Heard from the follower since the last check-quorum round. */
  recentActive = false
  /** Leader ticks since the follower last answered an append (stall detection). */
  ticksSinceAck = 0
  /** Highest ReadIndex round the follower has acknowledged. */
  readSeq = 0
  /** Commit index last sent to the follower. */
  sentCommit = 0
  /**
   * Snapshot transfer: the snapshot being sent (pinned, so a newer local snapshot does not
   * restart a transfer under way), bytes sent, bytes acknowledged.
   */
  snap: OutgoingSnapshot | undefined = undefined
  snapSent = 0
  snapAcked = 0
  /** The last chunk (`done`) is out; nothing more to send unless a retransmit rewinds. */
  snapDoneSent = false
  /** `snapAcked` when the last heartbeat went out: no change by its answer means a stall. */
  snapAckedAtHeartbeat = 0
  /** The follower's latest report of its offset (may go back if it restarted). */
  snapReported = 0
  readonly inflights: Inflights

  constructor (readonly id: PeerId, next: number, maxInflight: number, maxInflightBytes: number) {
    this.next = next
    this.inflights = new Inflights(maxInflight, maxInflightBytes)
  }

  /**
   * The follower has lost entries it acknowledged (an in-memory peer that restarted empty under
   * the same leader): forget the match down to what it now holds, and probe from there.
   */
  forgetTo (held: number): void {
    assert(held < this.match, 'forget only goes back')
    this.match = held
    this.becomeProbe(held + 1)
  }

  /** Back to one-at-a-time probing from `next`. */
  becomeProbe (next: number): void {
    assert(next > this.match, 'probe after the match')
    this.state = 'probe'
    this.snap = undefined
    this.next = next
    this.probeSent = false
    this.inflights.reset()
  }

  /** Pipelined replication after the match. */
  becomeReplicate (): void {
    this.state = 'replicate'
    this.snap = undefined
    this.next = this.match + 1
    this.probeSent = false
    this.inflights.reset()
  }

  /** Starts streaming `snap` from byte 0. */
  becomeSnapshot (snap: OutgoingSnapshot): void {
    this.state = 'snapshot'
    this.snap = snap
    this.snapSent = 0
    this.snapAcked = 0
    this.snapDoneSent = false
    this.snapAckedAtHeartbeat = 0
    this.snapReported = 0
    this.inflights.reset()
  }

  /** Records a successful durable ack up to `index`; returns true when `match` grew. */
  ack (index: number): boolean {
    this.ticksSinceAck = 0
    let grew = false
    if (index > this.match) {
      this.match = index
      grew = true
    }
    if (this.next <= index) this.next = index + 1
    this.inflights.freeTo(index)
    return grew
  }

  /** True when nothing more may be sent now. */
  paused (): boolean {
    switch (this.state) {
      case 'probe': return this.probeSent
      case 'replicate': return this.inflights.full()
      case 'snapshot': return true
    }
  }
}
