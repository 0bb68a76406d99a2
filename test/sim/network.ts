/**
 * A simulated network between named nodes: latency, loss, duplication, reordering (random
 * per-message delay) and partitions, symmetric or one-way. Generic over the message type, so it
 * can carry consensus messages or whole Peer frames. Deterministic given its `random`.
 */
import type { Random } from '../../lib/env.js'
import type { SimClock } from './clock.js'

/** Current fault settings; change them at any time. Rates are in [0, 1]. */
export interface NetworkFaults {
  dropRate: number
  dupRate: number
  minDelayMs: number
  maxDelayMs: number
}

/** Faults of a healthy network: no loss, small delays. */
export function healthyFaults (): NetworkFaults {
  return { dropRate: 0, dupRate: 0, minDelayMs: 1, maxDelayMs: 3 }
}

/** Delivers messages between nodes after simulated delays, subject to faults. */
export class SimNetwork<M> {
  faults: NetworkFaults = healthyFaults()
  /** Directed links that drop everything, as `from>to`. */
  private readonly blocked = new Set<string>()

  /**
   * `deliver(to, from, msg)` is called at delivery time; the receiver decides whether it is up.
   */
  constructor (
    private readonly clock: SimClock,
    private readonly random: Random,
    private readonly deliver: (to: string, from: string, msg: M) => void,
  ) {}

  /** Sends `msg`; it may be dropped, duplicated or delayed per the current faults. */
  send (from: string, to: string, msg: M): void {
    if (this.blocked.has(`${from}>${to}`)) return
    if (this.chance(this.faults.dropRate)) return
    const copies = this.chance(this.faults.dupRate) ? 2 : 1
    for (let i = 0; i < copies; i++) {
      const delay = this.random.intInclusive(this.faults.minDelayMs, this.faults.maxDelayMs)
      this.clock.after(delay, () => {
        // A partition that starts while a message is in flight also drops it.
        if (!this.blocked.has(`${from}>${to}`)) this.deliver(to, from, msg)
      })
    }
  }

  /** Cuts every link between different groups, both ways. */
  partition (groups: readonly (readonly string[])[]): void {
    for (const a of groups) {
      for (const b of groups) {
        if (a === b) continue
        for (const x of a) for (const y of b) this.blocked.add(`${x}>${y}`)
      }
    }
  }

  /** Cuts the link from `from` to `to` only. */
  blockOneWay (from: string, to: string): void {
    this.blocked.add(`${from}>${to}`)
  }

  /** Restores every link (faults are left as they are). */
  healPartitions (): void {
    this.blocked.clear()
  }

  /** Whether a partition or one-way cut separates `a` and `b` in either direction. */
  isCut (a: string, b: string): boolean {
    return this.blocked.has(`${a}>${b}`) || this.blocked.has(`${b}>${a}`)
  }

  /** Describes the cut links (for traces). */
  describePartitions (): string {
    return [...this.blocked].sort().join(' ')
  }

  private chance (rate: number): boolean {
    return rate > 0 && this.random.intInclusive(0, 999_999) < rate * 1_000_000
  }
}
