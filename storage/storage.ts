/**
 * The durable home of a peer's consensus state: the log, the term/vote (hard state) and the
 * latest snapshot. One interface; `LevelStorage` implements it over any abstract-level
 * database (memory-level by default, classic-level on disk).
 */
import type { DurableState, Entry, HardState, Snapshot } from '../lib/consensus/types.js'

/** One durable write: everything a Ready batch asks to persist, written atomically. */
export interface StorageWrite {
  /** Replaces the stored snapshot and drops every log entry at or below its index. */
  readonly snapshot?: Snapshot
  readonly hardState?: HardState
  /** Appended; any stored entries from `entries[0].index` on are replaced. */
  readonly entries?: readonly Entry[]
}

/**
 * The data of a recovered snapshot, handed over as a stream: a snapshot of millions of znodes
 * is hundreds of MiB, which a reader should decode as it reads rather than hold whole.
 */
export interface SnapshotSource {
  /** Length of the data in bytes. */
  readonly bytes: number
  /**
   * Hands the data to `write` in order, in pieces (each valid only during its call: copy what
   * must be kept). Resolves after the last piece; rejects with `StorageCorruptError` if the
   * data fails its checksum — then what `write` was given must be discarded — or with what
   * `write` threw. Called at most once, before the storage is closed.
   */
  pipeTo (write: (chunk: Uint8Array) => void): Promise<void>
}

/** What `open()` recovered. */
export interface RecoveredState extends DurableState {
  /** The stored snapshot's data, if any, to restore the state machine from. */
  readonly snapshotData: SnapshotSource | undefined
  /** How many corrupt or torn log entries were found at the tail and truncated. */
  readonly truncatedEntries: number
}

/** Durable storage for one peer. Calls are serialized by the caller or queued by the storage. */
export interface Storage {
  /**
   * Opens the database and recovers the durable state. A log tail whose checksum does not
   * verify (a torn write) is truncated to the last valid entry, never returned.
   */
  open (): Promise<RecoveredState>
  /**
   * Persists `write` in one batch. Resolves only once it is durable (synced when the storage
   * syncs). Concurrent calls are group-committed: they may share one synced batch, and resolve
   * in call order. Exception: a write of only a hard state whose term and vote are unchanged
   * (the commit index advanced) may resolve once every earlier write is durable, before it is
   * itself: recovering a lower commit index than was written is safe (Raft's commitIndex is
   * volatile; it is stored so that a restart can apply without waiting for a leader).
   */
  write (write: StorageWrite): Promise<void>
  /**
   * Records a snapshot taken locally at `snapshot.meta.index` and drops log entries up to
   * `snapshot.meta.index - keepEntries` (a few are kept so slightly lagging followers catch up
   * by log).
   */
  compact (snapshot: Snapshot, keepEntries: number): Promise<void>
  /** Reads entries in [from, to) from storage (for followers that lag past the in-memory log). */
  entries (from: number, to: number): Promise<Entry[]>
  /** Closes the database. */
  close (): Promise<void>
}
