/**
 * `LevelStorage`: the {@link Storage} of a peer in any abstract-level database.
 *
 * Owns: the write path (turning a `StorageWrite` into one atomic batch), group commit, range
 * reads and the database's lifecycle. The format is in `codec.ts`, the recovery policy in
 * `recover.ts`.
 *
 * Invariants, checked with assertions on every write (a failure is a bug in the caller):
 * the stored log is contiguous; terms never decrease; nothing is written at or below the
 * snapshot; the hard state's term and commit never go back and its vote never changes within a
 * term. Writes are planned synchronously, in call order, against an in-memory outline of the
 * log that already includes every queued write, so a write's promise order, its batch order and
 * its position in the log all agree.
 *
 * Must not touch: the consensus core's in-memory log. The database belongs to this storage:
 * nothing else may write to it, and `close()` closes it.
 */
import { assert } from '../lib/assert.js'
import { consoleLogger, type Logger } from '../lib/env.js'
import type { Entry, HardState, Snapshot } from '../lib/consensus/types.js'
import {
  dataCrc, decodeEntry, encodeEntry, encodeHardState, encodeSnapshotMeta, hardStateKey, logKey,
  snapshotChunkKey, snapshotMetaKey, type StoredSnapshotMeta,
} from './codec.js'
import { binary, type BatchOp, type BinaryLevel } from './db.js'
import { StorageCorruptError } from './errors.js'
import { GroupCommit, type CommitBatch } from './group-commit.js'
import { LogShape } from './log-shape.js'
import { recover } from './recover.js'
import type { RecoveredState, Storage, StorageWrite } from './storage.js'

/** Default size of one stored snapshot chunk: big values are slow in LevelDB's compactions. */
const DEFAULT_SNAPSHOT_CHUNK_BYTES = 1 << 20
/** How many entries one range-read step fetches. */
const READ_BATCH = 1024

/** Options for {@link LevelStorage}. */
export interface LevelStorageOptions {
  /** Any abstract-level v3 database, opened or not. The storage owns it from now on. */
  readonly db: BinaryLevel
  /**
   * Whether each batch is synced to disk before its writes resolve (`{ sync: true }` for
   * classic-level; ignored by memory-level). Default true: without it, a machine crash may lose
   * acknowledged writes, which Raft's safety depends on. Turn off only for throwaway data.
   */
  readonly sync?: boolean
  /** Where recovery reports truncated or stale entries. Default: `consoleLogger('zkpeer storage')`. */
  readonly log?: Logger
  /** Snapshot data is stored in chunks of at most this many bytes. Default 1 MiB. */
  readonly snapshotChunkBytes?: number
}

/** Lifecycle: `new` → `open` (after `open()`) → `closed` (after `close()`). */
type Status = 'new' | 'opening' | 'open' | 'closing' | 'closed'

/**
 * Durable consensus state (log, hard state, snapshot) in an abstract-level database, with
 * CRC32-checked records and group commit. See {@link Storage} for the contract of each method.
 * Call `open()` once before anything else; `write`, `compact` and `entries` are refused
 * (assertion) before `open()` resolves and after `close()` is called.
 */
export class LevelStorage implements Storage {
  readonly #db: BinaryLevel
  readonly #log: Logger
  readonly #chunkBytes: number
  readonly #batchOptions: typeof binary & { readonly sync: boolean }
  readonly #commit: CommitBatch
  readonly #queue: GroupCommit
  #status: Status = 'new'
  /** Set when planning a write failed an assertion: the outline can no longer be trusted. */
  #broken: Error | undefined
  /** Outline of the log including queued writes. */
  #shape = new LogShape(1)
  #snapshot: StoredSnapshotMeta | undefined
  #hardState: HardState = { term: 0, vote: null, commit: 0 }

  constructor (opts: LevelStorageOptions) {
    this.#db = opts.db
    this.#log = opts.log ?? consoleLogger('zkpeer storage')
    this.#chunkBytes = opts.snapshotChunkBytes ?? DEFAULT_SNAPSHOT_CHUNK_BYTES
    assert(Number.isInteger(this.#chunkBytes) && this.#chunkBytes > 0, 'snapshotChunkBytes is a positive integer')
    this.#batchOptions = { ...binary, sync: opts.sync ?? true }
    this.#commit = (ops) => this.#db.batch(ops, this.#batchOptions)
    this.#queue = new GroupCommit(this.#commit)
  }

  /**
   * Opens the database (if not open yet) and recovers its state; see `recover.ts` for what is
   * truncated and what refuses to start with {@link StorageCorruptError}. Called once.
   */
  async open (): Promise<RecoveredState> {
    assert(this.#status === 'new', 'open() is called once')
    this.#status = 'opening'
    await this.#db.open()
    const recovered = await recover(this.#db, { log: this.#log, commit: this.#commit })
    this.#shape = recovered.shape
    this.#snapshot = recovered.snapshot
    this.#hardState = recovered.state.hardState
    this.#status = 'open'
    return recovered.state
  }

  /**
   * Persists `write` atomically, group-committed with concurrent writes; resolves in call order
   * once durable. Its effect on the stored log is decided at call time, after every earlier
   * call. If a batch fails, this and every later write reject with that failure.
   */
  write (write: StorageWrite): Promise<void> {
    return this.#submit((ops) => {
      if (write.snapshot !== undefined) {
        this.#planSnapshot(write.snapshot, ops)
        this.#planInstalledSnapshotLog(write.snapshot, ops)
      }
      if (write.hardState !== undefined) this.#planHardState(write.hardState, ops)
      if (write.entries !== undefined && write.entries.length > 0) this.#planEntries(write.entries, ops)
    })
  }

  /**
   * Stores a snapshot taken locally at `snapshot.meta.index` (an entry this log holds, with the
   * same term) and deletes entries at or below `snapshot.meta.index - keepEntries`.
   * Group-committed and ordered with `write()`.
   */
  compact (snapshot: Snapshot, keepEntries: number): Promise<void> {
    return this.#submit((ops) => {
      assert(Number.isInteger(keepEntries) && keepEntries >= 0, 'keepEntries is a non-negative integer')
      const { index, term } = snapshot.meta
      const storedTerm = index === this.#snapshot?.meta.index ? this.#snapshot.meta.term : this.#shape.termAt(index)
      assert(storedTerm === term, 'a local snapshot covers a stored entry of the same term')
      this.#planSnapshot(snapshot, ops)
      this.#planDropThrough(index - keepEntries, ops)
    })
  }

  /**
   * Reads the durable entries with index in [from, to), in order. Entries compacted away or
   * not yet durable are absent, so the result starts at `from` only if that entry is stored;
   * callers compare `result[0].index`. Rejects with {@link StorageCorruptError} when a stored
   * entry fails its checksum.
   */
  async entries (from: number, to: number): Promise<Entry[]> {
    assert(this.#status === 'open', 'storage is open')
    assert(from <= to, 'entries(from, to) needs from <= to')
    const result: Entry[] = []
    const iterator = this.#db.iterator({ gte: logKey(from), lt: logKey(to), ...binary })
    try {
      for (;;) {
        const records = await iterator.nextv(READ_BATCH)
        if (records.length === 0) break
        for (const [key, value] of records) {
          const entry = decodeEntry(key, value)
          if (entry === undefined) throw new StorageCorruptError('entry', `stored entry ${key.toString('hex')} fails its checksum`)
          const previous = result[result.length - 1]
          assert(previous === undefined || entry.index === previous.index + 1, 'stored log has no gaps')
          result.push(entry)
        }
      }
    } finally {
      await iterator.close()
    }
    return result
  }

  /** Waits for every queued write to finish, then closes the database. Idempotent. */
  async close (): Promise<void> {
    if (this.#status === 'closing' || this.#status === 'closed') return
    this.#status = 'closing'
    await this.#queue.drain()
    await this.#db.close()
    this.#status = 'closed'
  }

  /**
   * Plans a write synchronously into its own operation list (so a failed assertion leaves no
   * half-write in the shared batch), then queues it.
   */
  #submit (plan: (ops: BatchOp[]) => void): Promise<void> {
    if (this.#broken !== undefined) return Promise.reject(this.#broken)
    const ops: BatchOp[] = []
    try {
      assert(this.#status === 'open', 'storage is open')
      plan(ops)
    } catch (err) {
      // The outline may be half-updated; refuse everything from now on.
      this.#broken = err instanceof Error ? err : new Error(String(err))
      return Promise.reject(this.#broken)
    }
    return this.#queue.submit(ops)
  }

  /** Replaces the stored snapshot: meta, chunks (as views of `data`, not copies), stale chunks. */
  #planSnapshot (snapshot: Snapshot, ops: BatchOp[]): void {
    const { meta, data } = snapshot
    const previous = this.#snapshot
    assert(meta.index >= (previous?.meta.index ?? 0), 'snapshots never go back')
    const chunkCount = Math.ceil(data.length / this.#chunkBytes)
    let crc = 0
    for (let i = 0; i < chunkCount; i++) {
      const offset = i * this.#chunkBytes
      const chunk = Buffer.from(data.buffer, data.byteOffset + offset, Math.min(this.#chunkBytes, data.length - offset))
      crc = dataCrc(chunk, crc)
      ops.push({ type: 'put', key: snapshotChunkKey(i), value: chunk })
    }
    for (let i = chunkCount; i < (previous?.chunkCount ?? 0); i++) ops.push({ type: 'del', key: snapshotChunkKey(i) })
    const stored: StoredSnapshotMeta = { meta, dataBytes: data.length, chunkCount, dataCrc: crc }
    ops.push({ type: 'put', key: snapshotMetaKey, value: encodeSnapshotMeta(stored) })
    this.#snapshot = stored
  }

  /**
   * A snapshot received from the leader: entries after it are kept only if the log holds the
   * snapshot's last entry with the same term (Raft §7, InstallSnapshot steps 6–7); otherwise
   * the whole log is discarded.
   */
  #planInstalledSnapshotLog (snapshot: Snapshot, ops: BatchOp[]): void {
    const { index, term } = snapshot.meta
    if (this.#shape.termAt(index) === term) {
      this.#planDropThrough(index, ops)
    } else {
      this.#planDropThrough(this.#shape.last, ops)
      this.#shape.reset(index + 1)
    }
  }

  /** Deletes stored entries at or below `index`. */
  #planDropThrough (index: number, ops: BatchOp[]): void {
    const shape = this.#shape
    for (let i = shape.first; i <= Math.min(index, shape.last); i++) ops.push({ type: 'del', key: logKey(i) })
    shape.dropThrough(index)
  }

  #planHardState (hardState: HardState, ops: BatchOp[]): void {
    const previous = this.#hardState
    assert(hardState.term >= previous.term, 'the stored term never goes back')
    assert(hardState.commit >= previous.commit, 'the stored commit index never goes back')
    assert(hardState.term > previous.term || previous.vote === null || hardState.vote === previous.vote, 'one vote per term')
    ops.push({ type: 'put', key: hardStateKey, value: encodeHardState(hardState) })
    this.#hardState = hardState
  }

  /** Appends `entries`, replacing any stored suffix from `entries[0].index` on. */
  #planEntries (entries: readonly Entry[], ops: BatchOp[]): void {
    const shape = this.#shape
    const first = entries[0]!
    const snapshot = this.#snapshot?.meta
    assert(first.index > (snapshot?.index ?? 0), 'entries are never written at or below the snapshot')
    assert(first.index <= shape.last + 1, 'appended entries leave no gap')
    let previousTerm = first.index - 1 === snapshot?.index ? snapshot.term : (shape.termAt(first.index - 1) ?? 0)
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!
      assert(entry.index === first.index + i, 'appended entries are contiguous')
      assert(entry.term >= previousTerm, 'terms never go back')
      previousTerm = entry.term
    }
    const previousLast = shape.last
    shape.truncateAfter(first.index - 1)
    for (const entry of entries) {
      shape.append(entry.index, entry.term)
      ops.push({ type: 'put', key: logKey(entry.index), value: encodeEntry(entry) })
    }
    for (let i = shape.last + 1; i <= previousLast; i++) ops.push({ type: 'del', key: logKey(i) })
  }
}
