/**
 * A simulated clock: simulated milliseconds and a queue of scheduled callbacks, run in (time,
 * scheduling order). Nothing here reads the real clock, so a run replays exactly from its seed.
 * Reusable by any simulated component (network, disk, peers).
 */
import { assert } from '../../lib/assert.js'

/** A scheduled callback; `cancel()` keeps it from running. */
export interface Timer { cancel (): void }

interface Scheduled {
  readonly at: number
  readonly seq: number
  readonly fn: () => void
  cancelled: boolean
}

/** Simulated time with a min-heap of pending callbacks. */
export class SimClock {
  private now = 0
  private seq = 0
  private readonly heap: Scheduled[] = []

  /** Current simulated time in ms. */
  nowMs (): number {
    return this.now
  }

  /** Runs `fn` at `ms` from now (0: after everything already due now). */
  after (ms: number, fn: () => void): Timer {
    assert(ms >= 0, 'no scheduling in the past')
    const ev: Scheduled = { at: this.now + ms, seq: this.seq++, fn, cancelled: false }
    this.push(ev)
    return { cancel: () => { ev.cancelled = true } }
  }

  /** Runs `fn` every `ms` from now on until cancelled. */
  every (ms: number, fn: () => void): Timer {
    assert(ms > 0, 'a period is positive')
    let timer: Timer
    let cancelled = false
    const run = (): void => {
      if (cancelled) return
      fn()
      if (!cancelled) timer = this.after(ms, run)
    }
    timer = this.after(ms, run)
    return { cancel: () => { cancelled = true; timer.cancel() } }
  }

  /**
   * Runs the next due callback, advancing time to it. Returns false when nothing is scheduled
   * at or before `untilMs`; time then stands at `untilMs`.
   */
  step (untilMs: number): boolean {
    for (;;) {
      const ev = this.heap[0]
      if (ev === undefined || ev.at > untilMs) {
        if (this.now < untilMs) this.now = untilMs
        return false
      }
      this.pop()
      if (ev.cancelled) continue
      this.now = ev.at
      ev.fn()
      return true
    }
  }

  private less (a: Scheduled, b: Scheduled): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq)
  }

  private push (ev: Scheduled): void {
    const h = this.heap
    h.push(ev)
    let i = h.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!this.less(h[i], h[p])) break
      const t = h[i]; h[i] = h[p]; h[p] = t
      i = p
    }
  }

  private pop (): void {
    const h = this.heap
    const last = h.pop()
    if (last === undefined || h.length === 0) return
    h[0] = last
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      const r = l + 1
      let m = i
      if (l < h.length && this.less(h[l], h[m])) m = l
      if (r < h.length && this.less(h[r], h[m])) m = r
      if (m === i) return
      const t = h[i]; h[i] = h[m]; h[m] = t
      i = m
    }
  }
}
