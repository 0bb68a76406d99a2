/**
 * Recovery: reads back what `LevelStorage` wrote and decides what can be trusted.
 *
 * Owns: the policy for damaged records found at `open()`.
 * - Hard state or snapshot that fails its checksum (or a snapshot with missing chunks): refuse
 *   to start with {@link StorageCorruptError}. Both are written whole in one atomic batch by a
 *   correct run, so damage there is media failure, and guessing would be unsafe: a lost vote
 *   allows voting twice in a term, a lost snapshot loses committed state.
 * - Log entries: scanned in index order; the first entry that does not verify (bad checksum,
 *   undecodable value, stored under the wrong key, or a gap in indexes) and *everything after
 *   it* is deleted and counted in `truncatedEntries`. At the tail this is the expected torn
 *   write of a crash, which was never acknowledged. In the middle of the log it means damage to
 *   entries this peer acknowledged; they are dropped too (the log must stay contiguous and the
 *   leader re-sends what followers lack), logged at error level, because if those entries were
 *   committed with this peer's acknowledgement the quorum that holds them is one smaller.
 * - Entries at or below the snapshot index are not returned. They stay stored (readable with
 *   `entries()` for lagging followers) only while they are intact, contiguous and end at the
 *   snapshot index with the snapshot's term; otherwise they are stale and deleted.
 *
 * Invariants checked on the result (assertions, i.e. bugs, not damage): contiguous indexes,
 * starting right after the snapshot; terms never decrease, and never go below the snapshot's.
 *
 * Must not touch: the write path (see `level.ts`).
 */
import { assert } from '../lib/assert.js'
import type { Logger } from '../lib/env.js'
import type { Entry, HardState } from '../lib/consensus/types.js'
import {
  dataCrc, decodeEntry, decodeHardState, decodeSnapshotMeta, hardStateKey, logEnd, logKeyIndex,
  logStart, snapshotChunkKey, snapshotMetaKey, type StoredSnapshotMeta,
} from './codec.js'
import { binary, type BatchOp, type BinaryLevel } from './db.js'
import { StorageCorruptError } from './errors.js'
import type { CommitBatch } from './group-commit.js'
import { LogShape } from './log-shape.js'
import { memorySnapshotSource } from './snapshot-source.js'
import type { RecoveredState, SnapshotSource } from './storage.js'

/** How many records one iterator step fetches; large enough to amortise each native call. */
const SCAN_BATCH = 1024

/** The recovered state plus what the storage needs to keep writing after it. */
export interface Recovery {
  readonly state: RecoveredState
  /** Outline of the log as now stored, including any retained entries below the snapshot. */
  readonly shape: LogShape
  readonly snapshot: StoredSnapshotMeta | undefined
}

/** Options for {@link recover}. */
export interface RecoverOptions {
  readonly log: Logger
  /** Commits a batch the way the storage does (synced if it syncs): deletes damaged entries. */
  readonly commit: CommitBatch
}

const EMPTY_HARD_STATE: HardState = { term: 0, vote: null, commit: 0 }

/**
 * Reads the hard state, the snapshot and the log of an open `db`, deletes damaged and stale
 * log entries durably, and returns what remains. Rejects with {@link StorageCorruptError} when
 * the hard state or the snapshot is damaged.
 */
export async function recover (db: BinaryLevel, opts: RecoverOptions): Promise<Recovery> {
  const hardState = await readHardState(db)
  const stored = await readSnapshotMeta(db)
  const snapshotData = stored === undefined ? undefined : await readSnapshotData(db, stored)
  const scan = await scanLog(db, stored, opts.log)
  if (scan.deletes.length > 0) await opts.commit(scan.deletes)
  checkLog(scan.entries, stored)
  if (hardState.commit > scan.shape.last) {
    opts.log.warn('storage: commit index beyond the recovered log', { commit: hardState.commit, lastIndex: scan.shape.last })
  }
  return {
    state: {
      hardState,
      snapshot: stored?.meta,
      snapshotData,
      entries: scan.entries,
      truncatedEntries: scan.truncated,
    },
    shape: scan.shape,
    snapshot: stored,
  }
}

async function readHardState (db: BinaryLevel): Promise<HardState> {
  const value = await db.get(hardStateKey, binary)
  if (value === undefined) return EMPTY_HARD_STATE
  const hardState = decodeHardState(value)
  if (hardState === undefined) throw new StorageCorruptError('hardState', 'stored term/vote/commit fail their checksum')
  return hardState
}

async function readSnapshotMeta (db: BinaryLevel): Promise<StoredSnapshotMeta | undefined> {
  const value = await db.get(snapshotMetaKey, binary)
  if (value === undefined) return undefined
  const stored = decodeSnapshotMeta(value)
  if (stored === undefined) throw new StorageCorruptError('snapshot', 'snapshot meta fails its checksum')
  return stored
}

/** Reads and verifies the snapshot's chunks, which are its data in order (not copied into one piece). */
async function readSnapshotData (db: BinaryLevel, stored: StoredSnapshotMeta): Promise<SnapshotSource> {
  const iterator = db.iterator({ gte: snapshotChunkKey(0), lt: snapshotChunkKey(stored.chunkCount), ...binary })
  const chunks: Buffer[] = []
  try {
    for (;;) {
      const records = await iterator.nextv(SCAN_BATCH)
      if (records.length === 0) break
      for (const [key, value] of records) {
        if (!key.equals(snapshotChunkKey(chunks.length))) {
          throw new StorageCorruptError('snapshot', `snapshot chunk ${chunks.length} of ${stored.chunkCount} is missing`)
        }
        chunks.push(value)
      }
    }
  } finally {
    await iterator.close()
  }
  if (chunks.length !== stored.chunkCount) {
    throw new StorageCorruptError('snapshot', `found ${chunks.length} of ${stored.chunkCount} snapshot chunks`)
  }
  let bytes = 0
  let crc = 0
  for (const chunk of chunks) {
    bytes += chunk.length
    crc = dataCrc(chunk, crc)
  }
  if (bytes !== stored.dataBytes || crc !== stored.dataCrc) {
    throw new StorageCorruptError('snapshot', `snapshot data at index ${stored.meta.index} fails its checksum`)
  }
  return memorySnapshotSource(chunks)
}

interface Scan {
  readonly entries: Entry[]
  readonly shape: LogShape
  readonly deletes: BatchOp[]
  readonly truncated: number
}

/** One pass over the log range in key (= index) order; see the module comment for the policy. */
async function scanLog (db: BinaryLevel, stored: StoredSnapshotMeta | undefined, log: Logger): Promise<Scan> {
  const snapshotIndex = stored?.meta.index ?? 0
  const entries: Entry[] = []
  const deletes: BatchOp[] = []
  // Entries at or below the snapshot: kept only if they form an intact run ending at it.
  const belowKeys: Buffer[] = []
  let below: LogShape | undefined
  let belowIntact = true
  let shape: LogShape | undefined
  let bad: { index: number, reason: string, lastValidIndex: number } | undefined
  let truncated = 0

  const settleBelow = (): void => {
    if (shape !== undefined) return
    const keep = below !== undefined && belowIntact && below.last === snapshotIndex && below.termAt(snapshotIndex) === stored?.meta.term
    if (keep) {
      shape = below
    } else {
      for (const key of belowKeys) deletes.push({ type: 'del', key })
      if (belowKeys.length > 0) log.info('storage: deleted stale entries below the snapshot', { count: belowKeys.length, snapshotIndex })
      shape = stored === undefined ? undefined : new LogShape(snapshotIndex + 1)
    }
  }

  const iterator = db.iterator({ gte: logStart, lt: logEnd, ...binary })
  try {
    for (;;) {
      const records = await iterator.nextv(SCAN_BATCH)
      if (records.length === 0) break
      for (const [key, value] of records) {
        if (bad !== undefined) {
          deletes.push({ type: 'del', key })
          truncated++
          continue
        }
        const index = logKeyIndex(key)
        const entry = decodeEntry(key, value)
        if (index >= 0 && index <= snapshotIndex) {
          belowKeys.push(key)
          if (!belowIntact) continue
          if (entry === undefined || (below !== undefined && (index !== below.last + 1 || entry.term < (below.termAt(below.last) ?? 0)))) {
            belowIntact = false
            continue
          }
          below ??= new LogShape(index)
          below.append(index, entry.term)
          continue
        }
        settleBelow()
        const reason = entry === undefined ? 'does not verify' : shape !== undefined && index !== shape.last + 1 ? 'gap' : undefined
        if (reason !== undefined) {
          bad = { index, reason, lastValidIndex: shape?.last ?? snapshotIndex }
          deletes.push({ type: 'del', key })
          truncated++
          continue
        }
        assert(entry !== undefined, 'verified above')
        // Without a snapshot or retained entries, the log starts wherever its first key is.
        shape ??= new LogShape(index)
        const previousTerm = shape.empty ? (stored?.meta.term ?? 0) : shape.termAt(shape.last)!
        assert(entry.term >= previousTerm, `terms never go back (stored entry ${index} has term ${entry.term} after ${previousTerm})`)
        shape.append(index, entry.term)
        entries.push(entry)
      }
    }
  } finally {
    await iterator.close()
  }
  settleBelow()
  if (bad !== undefined) {
    const fields = { fromIndex: bad.index, reason: bad.reason, truncatedEntries: truncated, lastValidIndex: bad.lastValidIndex }
    if (truncated === 1) log.warn('storage: truncated a torn log tail', fields)
    else log.error('storage: damaged log entry before the tail; truncated it and every entry after it', fields)
  }
  return { entries, shape: shape ?? new LogShape(snapshotIndex + 1), deletes, truncated }
}

/** Second, independent check of what recovery returns. */
function checkLog (entries: readonly Entry[], stored: StoredSnapshotMeta | undefined): void {
  let previous = stored === undefined ? undefined : { index: stored.meta.index, term: stored.meta.term }
  for (const entry of entries) {
    if (previous !== undefined) {
      assert(entry.index === previous.index + 1, 'recovered log has no gaps')
      assert(entry.term >= previous.term, 'recovered terms never go back')
    }
    previous = entry
  }
}
