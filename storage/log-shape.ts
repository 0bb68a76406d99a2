/**
 * The in-memory outline of the stored log: which indexes are stored and the term of each, kept
 * as runs (index where a term starts, term), so it costs memory per term change, not per entry.
 *
 * Owns: the storage's view of `[first, last]` and terms, used to plan deletes and to check
 * writes before they reach the database. Invariants: indexes are contiguous (it holds no
 * gaps by construction) and terms never decrease. Must not touch: the database.
 */
import { assert } from '../lib/assert.js'

/** Stored log indexes `[first, last]` (empty when `last < first`) and their terms. */
export class LogShape {
  #first: number
  #last: number
  /** Index at which each run of equal terms starts, ascending; parallel to `#runTerms`. */
  readonly #runStarts: number[] = []
  readonly #runTerms: number[] = []

  /** An empty shape whose first appended entry must be `next`. */
  constructor (next: number) {
    this.#first = next
    this.#last = next - 1
  }

  /** First stored index (meaningless when empty). */
  get first (): number { return this.#first }
  /** Last stored index; `first - 1` when empty. */
  get last (): number { return this.#last }
  /** True when no entry is stored. */
  get empty (): boolean { return this.#last < this.#first }

  /** The term of the stored entry at `index`, or undefined when it is not stored. */
  termAt (index: number): number | undefined {
    if (index < this.#first || index > this.#last) return undefined
    // Binary search for the last run starting at or before `index`.
    let lo = 0
    let hi = this.#runStarts.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1
      if (this.#runStarts[mid]! <= index) lo = mid
      else hi = mid - 1
    }
    return this.#runTerms[lo]
  }

  /** Appends the entry at `last + 1` with `term`, which must not be below the last term. */
  append (index: number, term: number): void {
    assert(index === this.#last + 1, 'log has no gaps')
    const lastTerm = this.#runTerms[this.#runTerms.length - 1]
    if (lastTerm === undefined || term > lastTerm) {
      this.#runStarts.push(index)
      this.#runTerms.push(term)
    } else {
      assert(term === lastTerm, 'terms never go back')
    }
    this.#last = index
  }

  /** Forgets every entry after `index` (the conflicting suffix a new leader overwrites). */
  truncateAfter (index: number): void {
    if (index >= this.#last) return
    while (this.#runStarts.length > 0 && this.#runStarts[this.#runStarts.length - 1]! > index) {
      this.#runStarts.pop()
      this.#runTerms.pop()
    }
    this.#last = Math.max(index, this.#first - 1)
  }

  /** Forgets every entry at or below `index` (compacted into a snapshot). */
  dropThrough (index: number): void {
    if (index < this.#first) return
    if (index >= this.#last) {
      this.reset(index + 1)
      return
    }
    // Keep the run that contains `index + 1`, clipped to start there.
    let keepFrom = 0
    while (keepFrom + 1 < this.#runStarts.length && this.#runStarts[keepFrom + 1]! <= index + 1) keepFrom++
    this.#runStarts.splice(0, keepFrom)
    this.#runTerms.splice(0, keepFrom)
    this.#runStarts[0] = index + 1
    this.#first = index + 1
  }

  /** Forgets everything; the next appended entry must be `next`. */
  reset (next: number): void {
    this.#first = next
    this.#last = next - 1
    this.#runStarts.length = 0
    this.#runTerms.length = 0
  }
}
