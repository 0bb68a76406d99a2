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
 * - The first record that does not verify, or that would leave a gap or make terms go back,
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
import { readRecord } from './wal-format.js'
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

/** Replays segments `seqs` (ascending) of `dir`; see the module comment. */
export function replay (dir: string, seqs: readonly number[]): Replayed {
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

  for (let s = 0; s < seqs.length; s++) {
    const seq = seqs[s]!
    const buf = readFileSync(join(dir, segmentName(seq)))
    let offset = 0
    for (;;) {
      const read = readRecord(buf, offset)
      if (read.kind === 'end') break
      if (read.kind === 'damage') {
        if (damage === undefined) {
          damage = { seq, offset, reason: read.reason, newest: s === seqs.length - 1 }
          lostEntries++
        }
        break
      }
      const record = read.record
      if (damage !== undefined) {
        if (record.kind === 'hardState') hardState = record.hardState
        else if (record.kind === 'entry') lostEntries++
        offset += read.bytes
        continue
      }
      switch (record.kind) {
        case 'entry': {
          const { index, term } = record.entry
          if (index <= floor) break
          if (s === 0 && !started) {
            // The oldest surviving segment opens with the floor of its own time; compaction
            // since then deleted the segments before it, so its first live entry may be later.
            floor = index - 1
            positions.reset(index)
          }
          started = true
          const last = floor + entries.length
          const previousTerm = index - 1 === floor ? floorTerm : entries[index - 2 - floor]?.term
          const reason = index > last + 1 ? 'gap' : previousTerm !== undefined && term < previousTerm ? 'term goes back' : undefined
          if (reason !== undefined) {
            damage = { seq, offset, reason, newest: s === seqs.length - 1 }
            lostEntries++
            break
          }
          if (index <= last) entries.length = index - 1 - floor
          entries.push(record.entry)
          positions.set(index, { seq, offset, length: read.bytes })
          break
        }
        case 'hardState':
          hardState = record.hardState
          break
        case 'floor':
          if (record.index > floor) {
            const kept = record.index - floor
            floorTerm = entries[kept - 1]?.term ?? 0
            entries = entries.slice(kept)
            floor = record.index
            positions.dropThrough(floor)
          }
          break
        case 'reset':
          started = true
          entries = []
          floor = record.index
          floorTerm = record.term
          positions.reset(floor + 1)
      }
      if (damage !== undefined) break
      offset += read.bytes
    }
    if (damage === undefined) end = offset
  }
  return {
    hardState, floor, floorTerm, entries, positions,
    end: damage === undefined ? end : damage.offset,
    damage: damage === undefined ? undefined : { ...damage, entries: lostEntries },
  }
}
