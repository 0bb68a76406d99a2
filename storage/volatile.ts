/**
 * A Storage kept in plain arrays in this process: the default of a peer given neither `db`
 * nor `dataDir`. Like a fresh MemoryLevel, nothing survives the process, but it skips the
 * key encoding and sorted-tree bookkeeping that make abstract-level cost several microseconds
 * per entry, so a one-member in-memory peer is limited by its tree, not its log.
 *
 * Closing and reopening the same instance recovers what was written, like reopening the same
 * MemoryLevel, unless it was made with `keepSnapshots: false`: then it keeps only a
 * snapshot's position, never its bytes (a copy of the whole state that nothing but a reopen
 * would read), and refuses to reopen once it has dropped any. A peer that makes its own
 * storage uses that, since nothing else holds the instance. Nothing is torn or corrupted in
 * memory, so `truncatedEntries` is always 0.
 */
import { assert } from '../lib/assert.js'
import type { Entry, HardState, Snapshot, SnapshotMeta } from '../lib/consensus/types.js'
import { memorySnapshotSource } from './snapshot-source.js'
import type { RecoveredState, Storage, StorageWrite } from './storage.js'

/** Options of {@link VolatileStorage}. */
export interface VolatileStorageOptions {
  /** Keep snapshot bytes so that a reopen can restore from them. Default true. */
  readonly keepSnapshots?: boolean
}

/** A Storage in plain memory; see the module comment. */
export class VolatileStorage implements Storage {
  #hardState: HardState = { term: 0, vote: null, commit: 0 }
  #snapshotMeta: SnapshotMeta | undefined
  /** The latest snapshot's bytes, when kept. */
  #snapshotData: Uint8Array | undefined
  /** Snapshot bytes were dropped, so a reopen could not restore the state. */
  #dropped = false
  /** Stored entries, contiguous; `#log[0].index` is the first stored index. */
  #log: Entry[] = []
  /** Whether snapshot bytes are kept (see the module comment). */
  readonly keepsSnapshots: boolean

  constructor (opts: VolatileStorageOptions = {}) {
    this.keepsSnapshots = opts.keepSnapshots ?? true
  }

  async open (): Promise<RecoveredState> {
    assert(!this.#dropped, 'a VolatileStorage that dropped snapshot bytes cannot be reopened')
    const snapIndex = this.#snapshotMeta?.index ?? 0
    return {
      hardState: this.#hardState,
      snapshot: this.#snapshotMeta,
      snapshotData: this.#snapshotData === undefined ? undefined : memorySnapshotSource([this.#snapshotData]),
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
      assert(first > (this.#snapshotMeta?.index ?? 0), 'no writes at or below the snapshot')
      assert(first <= stored + this.#log.length, 'log has no gaps')
      this.#log.length = Math.max(0, first - stored)
      for (const e of entries) this.#log.push(e)
    }
  }

  async compact (snapshot: Snapshot, keepEntries: number): Promise<void> {
    this.#keep(snapshot)
    this.compactLog(snapshot.meta, keepEntries)
  }

  /**
   * Drops entries up to `meta.index - keepEntries` for a snapshot at `meta` whose bytes this
   * storage is not given (only with `keepSnapshots: false`): what {@link compact} does,
   * without anyone encoding a snapshot nothing will read.
   */
  compactLog (meta: SnapshotMeta, keepEntries: number): void {
    if (this.#snapshotMeta !== meta) {
      assert(!this.keepsSnapshots, 'a storage that keeps snapshots is compacted with their bytes')
      this.#snapshotMeta = meta
      this.#dropped = true
    }
    const keepFrom = meta.index - keepEntries + 1
    const first = this.#log[0]?.index
    if (first !== undefined && keepFrom > first) this.#log.splice(0, keepFrom - first)
  }

  async entries (from: number, to: number): Promise<Entry[]> {
    const first = this.#log[0]?.index
    if (first === undefined) return []
    return this.#log.slice(Math.max(0, from - first), Math.max(0, to - first))
  }

  async close (): Promise<void> {}

  #keep (snapshot: Snapshot): void {
    this.#snapshotMeta = snapshot.meta
    if (this.keepsSnapshots) {
      this.#snapshotData = snapshot.data
    } else {
      this.#snapshotData = undefined
      this.#dropped = true
    }
  }

  /** A snapshot from the leader replaces the log unless the log already holds its index (Raft §7). */
  #installSnapshot (snapshot: Snapshot): void {
    this.#keep(snapshot)
    const first = this.#log[0]?.index
    const at = first === undefined ? undefined : this.#log[snapshot.meta.index - first]
    if (at?.term === snapshot.meta.term) this.#log.splice(0, snapshot.meta.index - first! + 1)
    else this.#log = []
  }
}
