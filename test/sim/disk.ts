/**
 * A simulated disk holding a durable state `S`: writes complete in order after a simulated
 * latency, and a crash loses every write that has not completed yet, exactly like an unsynced
 * page cache. Generic so the same disk can hold a consensus log or a whole Peer's storage.
 */
import type { SimClock } from './clock.js'

/** A disk with a durable part and a queue of pending writes. */
export class SimDisk<S> {
  /** Latency of the next write in ms; swap it for a slow disk. */
  latencyMs: () => number
  private lastCompletionMs = 0
  /** Incremented by `crash()`: pending writes of an older epoch are lost. */
  private epoch = 0
  private pendingWrites = 0

  /** `durable` is the initial (empty) durable state; it is mutated only as writes complete. */
  constructor (private readonly clock: SimClock, private readonly durable: S, latencyMs: () => number) {
    this.latencyMs = latencyMs
  }

  /**
   * Queues `mutate` on the durable state; it runs, then `onDurable`, after the latency and after
   * every earlier write (FIFO). Neither runs if the disk crashes first.
   */
  write (mutate: (s: S) => void, onDurable: () => void): void {
    const epoch = this.epoch
    const at = Math.max(this.clock.nowMs() + this.latencyMs(), this.lastCompletionMs)
    this.lastCompletionMs = at
    this.pendingWrites++
    this.clock.after(at - this.clock.nowMs(), () => {
      if (epoch !== this.epoch) return
      this.pendingWrites--
      mutate(this.durable)
      onDurable()
    })
  }

  /** Writes queued but not yet durable. */
  pending (): number {
    return this.pendingWrites
  }

  /** Loses every pending write. */
  crash (): void {
    this.epoch++
    this.pendingWrites = 0
  }

  /** The durable state (read it to restart; do not mutate it outside `write`). */
  state (): S {
    return this.durable
  }
}
