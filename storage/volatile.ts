/**
 * A Storage kept in plain arrays in this process: the default of a peer given neither `db`
 * nor `dataDir`. Like a fresh MemoryLevel, nothing survives the process, but it skips the
 * key encoding and sorted-tree bookkeeping that make abstract-level cost several microseconds
 * per entry, so a one-member in-memory peer is limited by its tree, not its log.
 *
 * Closing and reopening the same instance recovers what was written, like reopening the same
 * MemoryLevel. Nothing is torn or corrupted in memory, so `truncatedEntries` is always 0.
 */
import { assert } from '../lib/assert.js'
import type { Entry, HardState, Snapshot } from '../lib/consensus/types.js'
import type { RecoveredState, Storage, StorageWrite } from './storage.js'

/** A Storage in plain memory; see the module comment. */
export class VolatileStorage implements Storage {
  #hardState: HardState = { term: 0, vote: null, commit: 0 }
  #snapshot: Snapshot | undefined
  /** Stored entries, contiguous; `#log[0].index` is the first stored index. */
  #log: Entry[] = []

  async open (): Promise<RecoveredState> {
    const snapIndex = this.#snapshot?.meta.index ?? 0
    return {
      hardState: this.#hardState,
      snapshot: this.#snapshot?.meta,
      snapshotData: this.#snapshot?.data,
      entries: this.#log.filter((e) => e.index > snapIndex),
      truncatedEntries: 0,
    }
  }

  async write (w: StorageWrite): Promise<void> {
    if (w.snapshot !== undefined) this.#installSnapshot(w.snapshot)
    if (w.hardState !== undefined) this.#hardState = w.hardState
    const entries = w.entries ?? []
    if (entries.length > 0) {
      const first = entries[0]!.index
      const stored = this.#log[0]?.index ?? first
      assert(first > (this.#snapshot?.meta.index ?? 0), 'no writes at or below the snapshot')
      assert(first <= stored + this.#log.length, 'log has no gaps')
      this.#log.length = Math.max(0, first - stored)
      for (const e of entries) this.#log.push(e)
    }
  }

  async compact (snapshot: Snapshot, keepEntries: number): Promise<void> {
    this.#snapshot = snapshot
    const keepFrom = snapshot.meta.index - keepEntries + 1
    const first = this.#log[0]?.index
    if (first !== undefined && keepFrom > first) this.#log.splice(0, keepFrom - first)
  }

  async entries (from: number, to: number): Promise<Entry[]> {
    const first = this.#log[0]?.index
    if (first === undefined) return []
    return this.#log.slice(Math.max(0, from - first), Math.max(0, to - first))
  }

  async close (): Promise<void> {}

  /** A snapshot from the leader replaces the log unless the log already holds its index (Raft §7). */
  #installSnapshot (snapshot: Snapshot): void {
    this.#snapshot = snapshot
    const first = this.#log[0]?.index
    const at = first === undefined ? undefined : this.#log[snapshot.meta.index - first]
    if (at?.term === snapshot.meta.term) this.#log.splice(0, snapshot.meta.index - first! + 1)
    else this.#log = []
  }
}
