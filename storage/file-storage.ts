/**
 * `FileStorage`: the {@link Storage} of a peer in a directory of plain files — a segmented,
 * append-only write-ahead log plus one snapshot file. What `dataDir` uses.
 *
 * Owns: the directory (nothing else may write there), the write path and recovery. The record
 * format is in `wal-format.ts`, the segment files in `wal-segments.ts`, the replay policy in
 * `wal-replay.ts`, the snapshot file in `snapshot-file.ts`.
 *
 * How a write becomes durable: each `write()` is planned at call time into records (entries,
 * hard state, compaction floor, reset), checked against an outline of the log that includes
 * every queued write; the group commit then writes everything queued as one batch record (read
 * back whole or not at all) with one synced `writev` (`O_DSYNC`) at the end of the newest
 * segment, a new snapshot (if any) having been written and renamed into place first. The
 * hard state travels in the log rather than in a file of its own because its commit index
 * changes with nearly every batch: one sync per batch, not two; and a write that only advances
 * the commit index waits for no sync at all, it rides with the next batch (see `Storage.write`).
 * Every segment opens with the hard state and floor of its time, so whole old segments can be
 * deleted once compaction has passed them.
 *
 * A batch is cut at the next `setImmediate`, so that messages already handed to the transport
 * (which flushes on its own immediate, queued earlier) go out first and the followers' syncs
 * overlap this one; the same wait comes between batches, so that what the writers of one batch
 * send once it is durable is not held up by the next (see `group-commit.ts`). Small batches are then written and synced on the event loop, large ones on
 * the thread pool (see `blockingMaxRecords`).
 *
 * Invariants, checked with assertions on every write (a failure is a bug in the caller): the
 * log is contiguous; terms never decrease; nothing is written at or below the snapshot; the hard
 * state's term and commit never go back and its vote never changes within a term.
 *
 * Must not touch: the consensus core's in-memory log.
 */
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { assert } from '../lib/assert.js'
import { consoleLogger, type Logger } from '../lib/env.js'
import type { Entry, HardState, Snapshot, SnapshotMeta } from '../lib/consensus/types.js'
import { lockDirectory } from './dir-lock.js'
import { EntryPositions } from './entry-positions.js'
import { StorageCorruptError } from './errors.js'
import { GroupCommit } from './group-commit.js'
import { LogShape } from './log-shape.js'
import { openSnapshotFile, writeSnapshotFile, type SnapshotFileSource } from './snapshot-file.js'
import type { RecoveredState, Storage, StorageWrite } from './storage.js'
import {
  encodeEntryRecord, encodeFloorRecord, encodeHardStateRecord, encodeResetRecord, readRecord,
} from './wal-format.js'
import { replay } from './wal-replay.js'
import { listSegments, WalSegments, type Placement } from './wal-segments.js'

/**
 * Default size at which a new segment is started: preallocating one costs a burst of this many
 * bytes of disk writes, and compaction frees space a segment at a time.
 */
const DEFAULT_SEGMENT_BYTES = 16 * 1024 * 1024

/** Options for {@link FileStorage}. */
export interface FileStorageOptions {
  /**
   * The directory, created (with its parents) if missing. The storage owns it: while open, a
   * `LOCK` file keeps other processes out.
   */
  readonly dir: string
  /**
   * Whether each batch is synced before its writes resolve. Default true: without it a
   * machine crash may lose acknowledged writes, which Raft's safety depends on.
   */
  readonly sync?: boolean
  /**
   * Batches of at most this many records (entries, hard states, …) are written and synced
   * synchronously on the event loop; larger ones on the thread pool. Default 4. A lone write (an
   * entry and a hard state) gains most from blocking: it skips a thread-pool round trip, and
   * the loop has nothing else to do meanwhile. A large batch means load, and then the loop's
   * time is better spent receiving acknowledgements and applying entries while the disk syncs.
   * 0 never blocks; `Infinity` always does.
   */
  readonly blockingMaxRecords?: number
  /** A new log segment is started once the newest holds this many bytes. Default 16 MiB. */
  readonly segmentBytes?: number
  /**
   * Whether log segments are preallocated with zeros, written in the background (default true),
   * so that each sync flushes data only, not the file system's journal too.
   */
  readonly preallocate?: boolean
  /** Where recovery reports what it truncated. Default: `consoleLogger('zkpeer storage')`. */
  readonly log?: Logger
}

/** One planned part of a batch, in write order. */
type WalOp =
  | { readonly kind: 'snapshot', readonly snapshot: Snapshot }
  | { readonly kind: 'entry', readonly index: number, readonly record: readonly [Buffer, Buffer] }
  | { readonly kind: 'hardState', readonly hardState: HardState, readonly record: Buffer }
  | { readonly kind: 'floor', readonly index: number, readonly record: Buffer }
  | { readonly kind: 'reset', readonly index: number, readonly record: Buffer }

type Status = 'new' | 'opening' | 'open' | 'closing' | 'closed'

const EMPTY_HARD_STATE: HardState = { term: 0, vote: null, commit: 0 }

/** Lets everything issued before the next check phase (transport flushes included) go first. */
const nextImmediate = (): Promise<void> => new Promise((resolve) => { setImmediate(resolve) })

/**
 * Durable consensus state in files; see the module comment, and {@link Storage} for the
 * contract of each method. Call `open()` once before anything else.
 */
export class FileStorage implements Storage {
  readonly #dir: string
  readonly #sync: boolean
  readonly #blockingMaxRecords: number
  readonly #segmentBytes: number
  readonly #preallocate: boolean
  readonly #log: Logger
  readonly #queue: GroupCommit<WalOp>
  #status: Status = 'new'
  #segments: WalSegments | undefined
  /** Set when planning a write failed an assertion: the outline can no longer be trusted. */
  #broken: Error | undefined
  /** Releases the directory's lock; set by `open()`. */
  #unlock: () => void = () => {}

  // Planned state: includes every queued write.
  #shape = new LogShape(1)
  #snapshot: SnapshotMeta | undefined
  #hardState: HardState = EMPTY_HARD_STATE
  #floor = 0

  /** Planned commit-index-only hard states, written at the head of the next batch. */
  readonly #lazy: WalOp[] = []

  // Durable state: what the files hold.
  #durableHardState: HardState = EMPTY_HARD_STATE
  #durableFloor = 0
  #positions = new EntryPositions(1)
  /** The recovered snapshot's data source, holding its file open until read (or closed here). */
  #unreadSnapshot: SnapshotFileSource | undefined

  constructor (opts: FileStorageOptions) {
    this.#dir = opts.dir
    this.#sync = opts.sync ?? true
    this.#blockingMaxRecords = opts.blockingMaxRecords ?? 4
    assert(this.#blockingMaxRecords >= 0, 'blockingMaxRecords is not negative')
    this.#segmentBytes = opts.segmentBytes ?? DEFAULT_SEGMENT_BYTES
    this.#preallocate = opts.preallocate ?? true
    assert(Number.isInteger(this.#segmentBytes) && this.#segmentBytes > 0, 'segmentBytes is a positive integer')
    this.#log = opts.log ?? consoleLogger('zkpeer storage')
    this.#queue = new GroupCommit<WalOp>((ops) => this.#commit(ops), nextImmediate)
  }

  /**
   * Opens the snapshot and replays the log. A torn or damaged log is cut at the first record
   * that does not verify (durably, before resolving); a snapshot whose meta fails its checksum,
   * or that is missing although the log was compacted, refuses to start with
   * {@link StorageCorruptError}. The snapshot's data is read, and its checksum verified, when
   * the returned source is piped (rejecting with {@link StorageCorruptError} then).
   */
  async open (): Promise<RecoveredState> {
    assert(this.#status === 'new', 'open() is called once')
    this.#status = 'opening'
    mkdirSync(this.#dir, { recursive: true })
    this.#unlock = lockDirectory(this.#dir)
    try {
      const state = await this.#recover()
      this.#status = 'open'
      return state
    } catch (err) {
      await this.#release()
      throw err
    }
  }

  async #recover (): Promise<RecoveredState> {
    const snapshot = await openSnapshotFile(this.#dir)
    this.#unreadSnapshot = snapshot?.source
    const seqs = listSegments(this.#dir)
    if (seqs.length === 0 && snapshot === undefined && existsSync(join(this.#dir, 'CURRENT'))) {
      // Starting empty here would silently drop what an earlier zkpeer acknowledged.
      throw new Error(`${this.#dir} holds a LevelDB database (a dataDir of zkpeer 0.1), not a write-ahead log: ` +
        'pass it as db: new ClassicLevel(dir) to keep using it, or move it away to start this peer empty')
    }
    const replayed = replay(this.#dir, seqs)
    const segments = new WalSegments(this.#dir, seqs, replayed.end, {
      segmentBytes: this.#segmentBytes,
      sync: this.#sync,
      preallocate: this.#preallocate,
      log: this.#log,
      header: () => [encodeHardStateRecord(this.#durableHardState), encodeFloorRecord(this.#durableFloor)],
    })
    this.#segments = segments
    const snap = snapshot?.stored.meta
    let { floor, entries } = replayed
    const { damage } = replayed
    if (snap === undefined && floor > 0) throw new StorageCorruptError('snapshot', `the log was compacted through ${floor} but no snapshot is stored`)
    if (snap !== undefined && floor > snap.index) {
      throw new StorageCorruptError('snapshot', `the stored snapshot (index ${snap.index}) is older than the log's compaction floor ${floor}`)
    }
    const repair: Buffer[] = []
    if (damage !== undefined) {
      segments.truncate(damage.seq, damage.offset)
      const fields = { segment: damage.seq, offset: damage.offset, reason: damage.reason, lastValidIndex: floor + entries.length }
      if (damage.newest) this.#log.warn('storage: truncated a torn log tail', fields)
      else this.#log.error('storage: damaged log record before the newest segment; truncated the log there', fields)
      // What was cut may have held the segment's header: write the state down again.
      repair.push(encodeFloorRecord(floor))
    }
    let positions = replayed.positions
    if (snap !== undefined && !logFitsSnapshot(snap, floor, replayed.floorTerm, entries)) {
      // A crash between writing a snapshot from the leader and resetting the log after it:
      // what the log holds around the snapshot is stale or conflicting (Raft §7).
      this.#log.info('storage: dropped log entries that do not continue the snapshot', { snapshotIndex: snap.index, entries: entries.length })
      repair.push(encodeResetRecord(snap.index, snap.term))
      floor = snap.index
      entries = []
      positions = new EntryPositions(floor + 1)
    }
    const shape = new LogShape(floor + 1)
    for (const e of entries) shape.append(e.index, e.term)
    this.#shape = shape
    this.#positions = positions
    this.#snapshot = snap
    let hardState = replayed.hardState
    if (hardState.commit > shape.last) {
      // Only after damage (the entries went, a later hard state stayed): a commit index may be
      // recovered lower than written (Raft's commitIndex is volatile), never past the log.
      this.#log.warn('storage: commit index beyond the recovered log; lowered to its end', { commit: hardState.commit, lastIndex: shape.last })
      hardState = { ...hardState, commit: shape.last }
    }
    this.#hardState = this.#durableHardState = hardState
    this.#floor = this.#durableFloor = floor
    if (repair.length > 0) segments.appendSync([encodeHardStateRecord(hardState), ...repair])
    const snapIndex = snap?.index ?? 0
    return {
      hardState,
      snapshot: snap,
      snapshotData: snapshot?.source,
      entries: entries.length > 0 && entries[0]!.index <= snapIndex ? entries.slice(snapIndex - entries[0]!.index + 1) : entries,
      truncatedEntries: damage?.entries ?? 0,
    }
  }

  /**
   * Persists `write`: group-committed with concurrent writes, resolved in call order once
   * durable. Its effect on the log is decided at call time, after every earlier call. If a
   * batch fails, this and every later write reject with that failure.
   */
  write (write: StorageWrite): Promise<void> {
    const hardState = write.hardState
    if (write.snapshot === undefined && (write.entries?.length ?? 0) === 0 && hardState !== undefined &&
        hardState.term === this.#hardState.term && hardState.vote === this.#hardState.vote && this.#broken === undefined) {
      // Only the commit index moved: it rides with the next batch instead of paying a sync of its own.
      return this.#submitLazy(hardState)
    }
    return this.#submit((ops) => {
      if (write.snapshot !== undefined) this.#planInstalledSnapshot(write.snapshot, ops)
      if (write.hardState !== undefined) this.#planHardState(write.hardState, ops)
      if (write.entries !== undefined && write.entries.length > 0) this.#planEntries(write.entries, ops)
    })
  }

  /**
   * Stores a snapshot taken locally at `snapshot.meta.index` (an entry this log holds, with the
   * same term) and compacts entries at or below `snapshot.meta.index - keepEntries`; whole
   * segments are deleted once nothing in them is live. Ordered with `write()`.
   */
  compact (snapshot: Snapshot, keepEntries: number): Promise<void> {
    return this.#submit((ops) => {
      assert(Number.isInteger(keepEntries) && keepEntries >= 0, 'keepEntries is a non-negative integer')
      const { index, term } = snapshot.meta
      const storedTerm = index === this.#snapshot?.index ? this.#snapshot.term : this.#shape.termAt(index)
      assert(storedTerm === term, 'a local snapshot covers a stored entry of the same term')
      this.#planSnapshot(snapshot, ops)
      this.#planFloor(index - keepEntries, ops)
    })
  }

  /**
   * Reads the durable entries with index in [from, to), in order; entries compacted away or
   * not yet durable are absent. Rejects with {@link StorageCorruptError} when a record read
   * back does not verify.
   */
  async entries (from: number, to: number): Promise<Entry[]> {
    assert(this.#status === 'open', 'storage is open')
    assert(from <= to, 'entries(from, to) needs from <= to')
    const segments = this.#segments!
    const positions = this.#positions
    const first = Math.max(from, positions.first)
    const end = Math.min(to, positions.last + 1)
    const result: Entry[] = []
    let index = first
    while (index < end) {
      // Read runs of records that lie back to back in one segment with one read.
      const start = positions.at(index)!
      let runEnd = index + 1
      let bytes = start.length
      for (let next = positions.at(runEnd); runEnd < end && next !== undefined && next.seq === start.seq && next.offset === start.offset + bytes; next = positions.at(runEnd)) {
        bytes += next.length
        runEnd++
      }
      const buf = segments.read(start.seq, start.offset, bytes)
      let offset = 0
      for (; index < runEnd; index++) {
        const read = readRecord(buf, offset)
        if (read.kind !== 'record' || read.record.kind !== 'entry' || read.record.entry.index !== index) {
          throw new StorageCorruptError('entry', `stored entry ${index} in segment ${start.seq} does not verify`)
        }
        result.push(read.record.entry)
        offset += read.bytes
      }
    }
    return result
  }

  /** Waits for every queued write to finish, then closes the files. Idempotent. */
  async close (): Promise<void> {
    if (this.#status === 'closing' || this.#status === 'closed') return
    this.#status = 'closing'
    // An empty batch writes down what waits in #lazy.
    if (this.#lazy.length > 0 && this.#broken === undefined) await this.#queue.submit([])
    await this.#queue.drain()
    await this.#release()
    this.#status = 'closed'
  }

  /** Closes the open segment and the snapshot file (if its data was never read) and gives the directory up. */
  async #release (): Promise<void> {
    const segments = this.#segments
    this.#segments = undefined
    await segments?.close()
    await this.#unreadSnapshot?.close()
    this.#unreadSnapshot = undefined
    this.#unlock()
    this.#unlock = () => {}
  }

  /**
   * Queues a commit-index-only hard state for the next batch (or `close()`), and resolves once
   * every earlier write is durable; see {@link Storage.write}.
   */
  #submitLazy (hardState: HardState): Promise<void> {
    const ops: WalOp[] = []
    try {
      assert(this.#status === 'open', 'storage is open')
      this.#planHardState(hardState, ops)
    } catch (err) {
      this.#broken = err instanceof Error ? err : new Error(String(err))
      return Promise.reject(this.#broken)
    }
    for (const op of ops) this.#lazy.push(op)
    return this.#queue.settled()
  }

  /** Plans a write synchronously into its own list (a failed assertion leaves nothing half-queued). */
  #submit (plan: (ops: WalOp[]) => void): Promise<void> {
    if (this.#broken !== undefined) return Promise.reject(this.#broken)
    const ops: WalOp[] = []
    try {
      assert(this.#status === 'open', 'storage is open')
      plan(ops)
    } catch (err) {
      this.#broken = err instanceof Error ? err : new Error(String(err))
      return Promise.reject(this.#broken)
    }
    return this.#queue.submit(ops)
  }

  #planSnapshot (snapshot: Snapshot, ops: WalOp[]): void {
    assert(snapshot.meta.index >= (this.#snapshot?.index ?? 0), 'snapshots never go back')
    ops.push({ kind: 'snapshot', snapshot })
    this.#snapshot = snapshot.meta
  }

  /**
   * A snapshot received from the leader: entries after it are kept only if the log holds the
   * snapshot's last entry with the same term (Raft §7, InstallSnapshot steps 6–7); otherwise
   * the whole log is reset.
   */
  #planInstalledSnapshot (snapshot: Snapshot, ops: WalOp[]): void {
    const { index, term } = snapshot.meta
    const matches = this.#shape.termAt(index) === term
    this.#planSnapshot(snapshot, ops)
    if (matches) {
      this.#planFloor(index, ops)
      return
    }
    ops.push({ kind: 'reset', index, record: encodeResetRecord(index, term) })
    this.#shape.reset(index + 1)
    this.#floor = index
  }

  /** Compacts the entries at or below `index`. */
  #planFloor (index: number, ops: WalOp[]): void {
    if (index <= this.#floor) return
    ops.push({ kind: 'floor', index, record: encodeFloorRecord(index) })
    this.#shape.dropThrough(index)
    this.#floor = index
  }

  #planHardState (hardState: HardState, ops: WalOp[]): void {
    const previous = this.#hardState
    assert(hardState.term >= previous.term, 'the stored term never goes back')
    assert(hardState.commit >= previous.commit, 'the stored commit index never goes back')
    assert(hardState.term > previous.term || previous.vote === null || hardState.vote === previous.vote, 'one vote per term')
    ops.push({ kind: 'hardState', hardState, record: encodeHardStateRecord(hardState) })
    this.#hardState = hardState
  }

  /** Appends `entries`, replacing any planned suffix from `entries[0].index` on. */
  #planEntries (entries: readonly Entry[], ops: WalOp[]): void {
    const shape = this.#shape
    const first = entries[0]!
    const snapshot = this.#snapshot
    assert(first.index > (snapshot?.index ?? 0), 'entries are never written at or below the snapshot')
    assert(first.index <= shape.last + 1, 'appended entries leave no gap')
    let previousTerm = first.index - 1 === snapshot?.index ? snapshot.term : (shape.termAt(first.index - 1) ?? 0)
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!
      assert(entry.index === first.index + i, 'appended entries are contiguous')
      assert(entry.term >= previousTerm, 'terms never go back')
      previousTerm = entry.term
    }
    shape.truncateAfter(first.index - 1)
    for (const entry of entries) {
      shape.append(entry.index, entry.term)
      ops.push({ kind: 'entry', index: entry.index, record: encodeEntryRecord(entry) })
    }
  }

  /** Makes one group durable: the newest snapshot file first, then every record in one append. */
  async #commit (group: WalOp[]): Promise<void> {
    const ops = this.#lazy.length === 0 ? group : [...this.#lazy.splice(0), ...group]
    let snapshot: Snapshot | undefined
    const pieces: Buffer[] = []
    let records = 0
    for (const op of ops) {
      if (op.kind === 'snapshot') {
        snapshot = op.snapshot
        continue
      }
      if (op.kind === 'entry') pieces.push(...op.record)
      else pieces.push(op.record)
      records++
    }
    if (snapshot !== undefined) await writeSnapshotFile(this.#dir, snapshot)
    if (records === 0) return
    const segments = this.#segments!
    const placement = records <= this.#blockingMaxRecords ? segments.appendSync(pieces) : await segments.append(pieces)
    this.#recordDurable(ops, placement)
  }

  /** Updates the durable state with a group that is now on disk, and deletes segments no longer needed. */
  #recordDurable (ops: readonly WalOp[], placement: Placement): void {
    let offset = placement.offset
    let compacted = false
    for (const op of ops) {
      switch (op.kind) {
        case 'snapshot':
          continue
        case 'entry': {
          const length = op.record[0].length + op.record[1].length
          this.#positions.set(op.index, { seq: placement.seq, offset, length })
          offset += length
          continue
        }
        case 'hardState':
          this.#durableHardState = op.hardState
          break
        case 'floor':
          this.#positions.dropThrough(op.index)
          this.#durableFloor = op.index
          compacted = true
          break
        case 'reset':
          this.#positions.reset(op.index + 1)
          this.#durableFloor = op.index
          compacted = true
      }
      offset += op.record.length
    }
    if (compacted) {
      // Older segments hold only compacted, superseded or overwritten records once the first
      // live entry (or, with none, the newest segment, whose header has the current state) is past them.
      const segments = this.#segments!
      const first = this.#positions.at(this.#positions.first)
      segments.deleteBelow(first?.seq ?? placement.seq)
    }
  }
}

/**
 * Whether a replayed log continues snapshot `snap`: it must hold the snapshot's entry with the
 * same term, or start right after it. Otherwise it is stale (all below it) or conflicting.
 */
function logFitsSnapshot (snap: SnapshotMeta, floor: number, floorTerm: number, entries: readonly Entry[]): boolean {
  const last = floor + entries.length
  if (snap.index > last) return false
  if (snap.index === floor) return floorTerm === 0 || floorTerm === snap.term
  return entries[snap.index - floor - 1]!.term === snap.term
}
