/**
 * The path → id index of the znode store: an open-addressing hash table of int32 slots over
 * the paths kept by id, instead of a `Map<string, number>`. A Map entry costs some 28–37 bytes
 * per znode (three pointer slots plus buckets, at half to full load) and inserting a million
 * paths into it dominated decoding a snapshot; here a znode costs a 4-byte hash plus two to
 * four 4-byte slots, and a table sized up front never rehashes while a snapshot is decoded.
 *
 * Linear probing with backward-shift deletion (no tombstones), so a lookup stops at the first
 * empty slot. Slots hold id + 1 (0 is empty). The hash is computed from the string's UTF-16
 * code units, so it is the same for every spelling of the same path string.
 *
 * Invariants: an id is indexed exactly while `path(id)` is defined; the table is at most half
 * full; every indexed id is reachable from its hash's home slot without crossing an empty slot.
 */

import { assert } from '../assert.js'
import { plainAllocate, type Allocate } from './allocate.js'
import { presized } from './presized.js'

const MIN_SLOTS = 64

/** FNV-1a over UTF-16 code units with a final avalanche, so similar paths spread out. */
export function hashPath (path: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < path.length; i++) h = Math.imul(h ^ path.charCodeAt(i), 0x01000193)
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  return h | 0
}

/** Paths by id, and the hash table that finds an id by its path. See the module comment. */
export class PathIndex {
  #paths: Array<string | undefined> = []
  #hashes: Int32Array = new Int32Array(MIN_SLOTS)
  #slots: Int32Array = new Int32Array(MIN_SLOTS)
  #size = 0

  /** Number of indexed paths. */
  get size (): number {
    return this.#size
  }

  /** The id at `path`, or undefined (also for a value that is not a string: callers look up before validating). */
  get (path: string): number | undefined {
    if (typeof path !== 'string') return undefined
    const slots = this.#slots
    const mask = slots.length - 1
    const h = hashPath(path)
    for (let s = h & mask; ; s = (s + 1) & mask) {
      const v = slots[s]!
      if (v === 0) return undefined
      const id = v - 1
      if (this.#hashes[id] === h && this.#paths[id] === path) return id
    }
  }

  /** The path of `id`, or undefined when it is not indexed. */
  path (id: number): string | undefined {
    return this.#paths[id]
  }

  /** Indexes `id` at `path`; the path must be free and the id unused. */
  set (path: string, id: number): void {
    if (2 * (this.#size + 1) > this.#slots.length) this.#rehash(2 * this.#slots.length)
    if (id >= this.#hashes.length) {
      const hashes = new Int32Array(Math.max(2 * this.#hashes.length, id + 1))
      hashes.set(this.#hashes)
      this.#hashes = hashes
    }
    const h = hashPath(path)
    const slots = this.#slots
    const mask = slots.length - 1
    let s = h & mask
    for (let v = slots[s]!; v !== 0; v = slots[s]!) {
      assert(this.#hashes[v - 1] !== h || this.#paths[v - 1] !== path, 'a path holds one node')
      s = (s + 1) & mask
    }
    slots[s] = id + 1
    this.#hashes[id] = h
    this.#paths[id] = path
    this.#size++
  }

  /** Removes `id` (which must be indexed) from the index. */
  delete (id: number): void {
    const path = this.#paths[id]
    assert(path !== undefined, 'only indexed ids are removed')
    const slots = this.#slots
    const mask = slots.length - 1
    let s = this.#hashes[id]! & mask
    while (slots[s] !== id + 1) s = (s + 1) & mask
    // Backward shift: move later members of the run into the hole when their home allows it.
    for (let next = (s + 1) & mask; slots[next] !== 0; next = (next + 1) & mask) {
      const home = this.#hashes[slots[next]! - 1]! & mask
      // The entry at `next` may fill the hole at `s` unless its home lies in (s, next].
      const between = s <= next ? home > s && home <= next : home > s || home <= next
      if (!between) {
        slots[s] = slots[next]!
        s = next
      }
    }
    slots[s] = 0
    this.#paths[id] = undefined
    this.#size--
  }

  /**
   * Sizes the table for `count` paths at once (a snapshot being decoded), in memory from
   * `allocate`, so it never grows meanwhile.
   */
  reserve (count: number, allocate: Allocate = plainAllocate): void {
    if (2 * count > this.#slots.length) this.#rehash(2 * count, allocate)
    if (count > this.#paths.length) this.#paths = presized(this.#paths, count)
    if (count > this.#hashes.length) {
      const hashes = new Int32Array(allocate(4 * count, 4 * count))
      hashes.set(this.#hashes)
      this.#hashes = hashes
    }
  }

  /** Ids in use, lowest first. */
  * ids (): IterableIterator<number> {
    const paths = this.#paths
    for (let id = 0; id < paths.length; id++) if (paths[id] !== undefined) yield id
  }

  #rehash (atLeast: number, allocate: Allocate = plainAllocate): void {
    let n = MIN_SLOTS
    while (n < atLeast) n *= 2
    // Paths hash all over the table: all of it is about to be written.
    const slots = new Int32Array(allocate(4 * n, 4 * n))
    const mask = n - 1
    const old = this.#slots
    for (let i = 0; i < old.length; i++) {
      const v = old[i]!
      if (v === 0) continue
      let s = this.#hashes[v - 1]! & mask
      while (slots[s] !== 0) s = (s + 1) & mask
      slots[s] = v
    }
    this.#slots = slots
  }
}

