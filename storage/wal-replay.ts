/**
 * Replay: reads `FileStorage`'s log segments back, in order, into the log they describe.
 *
 * Owns: the meaning of a record sequence on recovery and the policy for damage in it.
 * - The log starts at the first entry of the oldest segment (older segments were deleted by
 *   compaction, so it may lie past that segment's opening floor), or after a reset.
 * - Records apply in order: an entry replaces every entry at or after its index (Raft's
 *   conflicting suffix), a hard state replaces the previous one, a floor drops entries at or
 *   below it (compaction), a reset empties the log after a snapshot (one installed from the
 *   leader). Entries at or below the floor are ignored.
 * - Records come in batches (one per group commit) that apply whole or not at all. The first
 *   batch that does not verify, or holds a record that would leave a gap or make terms go back,
 *   ends the log: it and everything after it are reported as `damage` for the storage to cut
 *   off. In the newest segment that is the expected torn tail of a crash (never acknowledged).
 *   In an older one it is damage to acknowledged data; the hard states of later segments are
 *   still read (every segment opens with the hard state of its time), so a vote is never lost
 *   with the entries that had to go.
 *
 * Must not touch: the files beyond reading them (the storage truncates), the snapshot.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Entry, HardState } from '../lib/consensus/types.js'
import { EntryPositions } from './entry-positions.js'
import { BATCH_HEADER_BYTES, readRecord, type WalRecord } from './wal-format.js'
import { segmentName } from './wal-segments.js'

/** Where the log stopped verifying. */
export interface Damage {
  readonly seq: number
  readonly offset: number
  readonly reason: string
  /** True when it is in the newest segment: a torn tail rather than damage to synced data. */
  readonly newest: boolean
  /** Entry records lost with it: the damaged one (counted as one) plus those in later segments. */
  readonly entries: number
}

/** The log as replayed. */
export interface Replayed {
  readonly hardState: HardState
  /** Entries at or below this index are compacted away. */
  readonly floor: number
  /** The term of the entry at `floor`, when a reset recorded it (else 0). */
  readonly floorTerm: number
  /** Live entries `floor + 1 ...`, contiguous; `data` are views into the segments' bytes. */
  readonly entries: Entry[]
  readonly positions: EntryPositions
  /** Where verified bytes end in the newest surviving segment (0 when there is none). */
  readonly end: number
  readonly damage: Damage | undefined
}

const EMPTY_HARD_STATE: HardState = { term: 0, vote: null, commit: 0 }

/** Where a replay must stop as if the log were damaged there. */
interface Stop {
  readonly seq: number
  readonly offset: number
  readonly reason: string
}

/** Replays segments `seqs` (ascending) of `dir`; see the module comment. */
export function replay (dir: string, seqs: readonly number[]): Replayed {
  const buffers = seqs.map((seq) => readFileSync(join(dir, segmentName(seq))))
  const first = replayBuffers(seqs, buffers, undefined)
  // A batch that verifies but does not continue the log is dropped whole, like a torn one:
  // replay again, stopping before it, so nothing of it is applied.
  return 'stop' in first ? replayBuffers(seqs, buffers, first.stop) as Replayed : first
}

function replayBuffers (seqs: readonly number[], buffers: readonly Buffer[], stop: Stop | undefined): Replayed | { stop: Stop } {
  let hardState = EMPTY_HARD_STATE
  let floor = 0
  let floorTerm = 0
  let entries: Entry[] = []
  const positions = new EntryPositions(1)
  let damage: Omit<Damage, 'entries'> | undefined
  let lostEntries = 0
  /** Whether an entry or a reset was read: before that, the log may start past the floor. */
  let started = false
  let end = 0

  /** Applies one record of a verified batch; returns why it cannot be, if it cannot. */
  const apply = (record: WalRecord, seq: number, offset: number, bytes: number, oldest: boolean): string | undefined => {
    switch (record.kind) {
      case 'entry': {
        const { index, term } = record.entry
        if (index <= floor) return undefined
        if (oldest && !started) {
          // The oldest surviving segment opens with the floor of its own time; compaction
          // since then deleted the segments before it, so its first live entry may be later.
          floor = index - 1
          positions.reset(index)
        }
        started = true
        const last = floor + entries.length
        const previousTerm = index - 1 === floor ? floorTerm : entries[index - 2 - floor]?.term
        if (index > last + 1) return 'gap'
        if (previousTerm !== undefined && term < previousTerm) return 'term goes back'
        if (index <= last) entries.length = index - 1 - floor
        entries.push(record.entry)
        positions.set(index, { seq, offset, length: bytes })
        return undefined
      }
      case 'hardState':
        hardState = record.hardState
        return undefined
      case 'floor':
        if (record.index > floor) {
          const kept = record.index - floor
          floorTerm = entries[kept - 1]?.term ?? 0
          entries = entries.slice(kept)
          floor = record.index
          positions.dropThrough(floor)
        }
        return undefined
      case 'reset':
        started = true
        entries = []
        floor = record.index
        floorTerm = record.term
        positions.reset(floor + 1)
        return undefined
    }
  }

  for (let s = 0; s < seqs.length; s++) {
    const seq = seqs[s]!
    const buf = buffers[s]!
    const newest = s === seqs.length - 1
    let offset = 0
    for (;;) {
      if (damage === undefined && stop !== undefined && stop.seq === seq && stop.offset === offset) {
        damage = { seq, offset, reason: stop.reason, newest }
      }
      const read = readRecord(buf, offset)
      if (read.kind === 'end') break
      if (read.kind !== 'batch') {
        if (damage === undefined) damage = { seq, offset, reason: read.kind === 'damage' ? read.reason : 'record outside a batch', newest }
        if (damage.seq === seq && damage.offset === offset) lostEntries++
        break
      }
      // The batch verified as a whole: its records are read without checking each CRC again.
      const batch = buf.subarray(0, offset + read.bytes)
      let at = offset + BATCH_HEADER_BYTES
      while (at < batch.length) {
        const inner = readRecord(batch, at, true)
        if (inner.kind !== 'record') {
          if (damage === undefined) return { stop: { seq, offset, reason: 'malformed batch' } }
          break
        }
        if (damage !== undefined) {
          // Past the damage only the hard states of later segments count: every segment opens
          // with one, written after everything before it was synced.
          if (inner.record.kind === 'hardState' && seq > damage.seq) hardState = inner.record.hardState
          else if (inner.record.kind === 'entry') lostEntries++
        } else {
          const why = apply(inner.record, seq, at, inner.bytes, s === 0)
          if (why !== undefined) return { stop: { seq, offset, reason: why } }
        }
        at += inner.bytes
      }
      offset += read.bytes
    }
    if (damage === undefined) end = offset
  }
  return {
    hardState, floor, floorTerm, entries, positions,
    end: damage === undefined ? end : damage.offset,
    damage: damage === undefined ? undefined : { ...damage, entries: Math.max(1, lostEntries) },
  }
}
