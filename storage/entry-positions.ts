/**
 * Where each durable log entry of `FileStorage` lies: segment, byte offset and record length,
 * per index, so range reads fetch records without scanning.
 *
 * Owns: the map from index to record position, as three parallel arrays starting at `first`.
 * Invariants: the indexes are contiguous `[first, last]`; a position is recorded only once its
 * record is durable. Must not touch: the files.
 */
import { assert } from '../lib/assert.js'

/** A record's place in the log files. */
export interface Position {
  readonly seq: number
  readonly offset: number
  readonly length: number
}

/** Positions of the entries `[first, last]`; see the module comment. */
export class EntryPositions {
  #first: number
  #seqs: number[] = []
  #offsets: number[] = []
  #lengths: number[] = []

  /** No entries; the first one recorded must be `next`. */
  constructor (next: number) {
    this.#first = next
  }

  /** First index held (meaningless when empty). */
  get first (): number { return this.#first }
  /** Last index held; `first - 1` when empty. */
  get last (): number { return this.#first + this.#seqs.length - 1 }

  /** The position of entry `index`, or undefined when it is not held. */
  at (index: number): Position | undefined {
    const i = index - this.#first
    if (i < 0 || i >= this.#seqs.length) return undefined
    return { seq: this.#seqs[i]!, offset: this.#offsets[i]!, length: this.#lengths[i]! }
  }

  /** Records entry `index` at `position`, forgetting every entry after it. */
  set (index: number, position: Position): void {
    const i = index - this.#first
    assert(i >= 0 && i <= this.#seqs.length, 'positions are recorded without gaps')
    // Shrinking only when a suffix is replaced: assigning `length` costs even when it is a no-op.
    if (i < this.#seqs.length) this.#seqs.length = this.#offsets.length = this.#lengths.length = i
    this.#seqs.push(position.seq)
    this.#offsets.push(position.offset)
    this.#lengths.push(position.length)
  }

  /** Forgets the entries at or below `index`. */
  dropThrough (index: number): void {
    if (index < this.#first) return
    const n = Math.min(index - this.#first + 1, this.#seqs.length)
    this.#seqs.splice(0, n)
    this.#offsets.splice(0, n)
    this.#lengths.splice(0, n)
    this.#first = index + 1
  }

  /** Forgets everything; the next entry recorded must be `next`. */
  reset (next: number): void {
    this.#first = next
    this.#seqs = []
    this.#offsets = []
    this.#lengths = []
  }
}
