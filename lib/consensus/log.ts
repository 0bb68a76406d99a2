/**
 * The core's in-memory Raft log: every entry after the latest snapshot, plus the bookkeeping of
 * which of them the host has been handed (`unstableFrom`) and has made durable (`persistedTo`).
 *
 * Invariants:
 * - entries are contiguous: entry i sits at `ents[i - snapIndex - 1]`;
 * - terms never decrease along the log;
 * - `commit` never decreases, never exceeds `lastIndex`, and never falls before `snapIndex`;
 * - nothing at or before `commit` is ever truncated (committed entries are final, Raft §5.4).
 *
 * It owns no policy: the core decides what to append, truncate, commit and compact.
 */
import { assert } from '../assert.js'
import type { Entry, SnapshotMeta } from './types.js'

/** Raft's log with an in-memory suffix after a snapshot. */
export class RaftLog {
  /** Index and term of the last entry covered by the snapshot (0/0 when there is none). */
  snapIndex: number
  snapTerm: number
  /** Entries after the snapshot. Entries are immutable and may be shared with messages. */
  private ents: Entry[]
  /** Highest index known committed. */
  commit: number
  /** First index not yet handed to the host in a Ready. */
  unstableFrom: number
  /** Highest index the host has confirmed durable (via advance). */
  persistedTo: number

  /** Starts from what the host loaded from durable storage; all of it counts as persisted. */
  constructor (snapshot: SnapshotMeta | undefined, entries: readonly Entry[], commit: number) {
    this.snapIndex = snapshot?.index ?? 0
    this.snapTerm = snapshot?.term ?? 0
    this.ents = entries.slice()
    for (let i = 0; i < this.ents.length; i++) {
      assert(this.ents[i].index === this.snapIndex + 1 + i, 'durable entries are contiguous after the snapshot')
    }
    const last = this.lastIndex()
    assert(commit <= last, 'durable commit is within the durable log')
    this.commit = Math.max(commit, this.snapIndex)
    this.unstableFrom = last + 1
    this.persistedTo = last
  }

  /** Index of the last entry (or of the snapshot when the suffix is empty). */
  lastIndex (): number {
    return this.snapIndex + this.ents.length
  }

  /** Term of the last entry. */
  lastTerm (): number {
    const n = this.ents.length
    return n === 0 ? this.snapTerm : this.ents[n - 1].term
  }

  /** Index of the first entry held in memory. */
  firstIndex (): number {
    return this.snapIndex + 1
  }

  /** Term at `index`, or -1 when unknown (compacted away or beyond the end). */
  term (index: number): number {
    if (index === this.snapIndex) return this.snapTerm
    if (index < this.snapIndex || index > this.lastIndex()) return -1
    return this.ents[index - this.snapIndex - 1].term
  }

  /** The entry at `index`; it must be in memory. */
  entry (index: number): Entry {
    assert(index > this.snapIndex && index <= this.lastIndex(), 'entry is in memory')
    return this.ents[index - this.snapIndex - 1]
  }

  /** True when the log holds an entry at `index` of `term` (Raft's consistency check). */
  matchTerm (index: number, term: number): boolean {
    return this.term(index) === term
  }

  /** True when a candidate's last entry (`index`, `term`) is at least as up to date as ours (§5.4.1). */
  isUpToDate (index: number, term: number): boolean {
    const lastTerm = this.lastTerm()
    return term > lastTerm || (term === lastTerm && index >= this.lastIndex())
  }

  /** Entries in [lo, hi) as a new array; all must be in memory. */
  slice (lo: number, hi: number): Entry[] {
    if (lo >= hi) return []
    assert(lo > this.snapIndex, 'slice starts after the snapshot')
    assert(hi <= this.lastIndex() + 1, 'slice ends within the log')
    return this.ents.slice(lo - this.snapIndex - 1, hi - this.snapIndex - 1)
  }

  /**
   * Entries from `lo` on, at least one (when any), while their data stays within `maxBytes`.
   * Also returns the byte count so the caller can account in-flight bytes without a rescan.
   */
  sliceBytes (lo: number, maxBytes: number): { entries: Entry[], bytes: number } {
    const last = this.lastIndex()
    let hi = lo
    let bytes = 0
    while (hi <= last) {
      const size = this.ents[hi - this.snapIndex - 1].data.length
      if (hi > lo && bytes + size > maxBytes) break
      bytes += size
      hi++
    }
    return { entries: this.slice(lo, hi), bytes }
  }

  /** Appends one entry at the end (the leader's path). */
  push (entry: Entry): void {
    assert(entry.index === this.lastIndex() + 1, 'log has no gaps')
    assert(entry.term >= this.lastTerm(), 'terms never go back')
    this.ents.push(entry)
  }

  /**
   * Merges entries received after (`prevIndex`, which matched): skips those already present
   * with the same term, truncates at the first conflict, appends the rest (Raft §5.3 step 3–4).
   * Returns the index of the last entry of `entries` (prevIndex when empty).
   */
  merge (prevIndex: number, entries: readonly Entry[]): number {
    const last = this.lastIndex()
    let i = 0
    // Entries covered by our snapshot are committed, hence identical: skip them.
    while (i < entries.length && entries[i].index <= this.snapIndex) i++
    while (i < entries.length && entries[i].index <= last && this.term(entries[i].index) === entries[i].term) i++
    if (i < entries.length) {
      const from = entries[i].index
      if (from <= last) this.truncateFrom(from)
      for (; i < entries.length; i++) this.push(entries[i])
    }
    return prevIndex + entries.length
  }

  /** Drops entries from `index` on; never a committed one. */
  private truncateFrom (index: number): void {
    assert(index > this.commit, 'committed entries are never truncated')
    this.ents.length = index - this.snapIndex - 1
    // The host may still hold the dropped suffix; the next Ready's entries replace it.
    if (this.unstableFrom > index) this.unstableFrom = index
    if (this.persistedTo >= index) this.persistedTo = index - 1
  }

  /** Raises the commit index; it must be within the log. */
  commitTo (index: number): void {
    if (index <= this.commit) return
    assert(index <= this.lastIndex(), 'commit within the log')
    this.commit = index
  }

  /**
   * The last index at or before `index` whose term is at most `term`: where a log that has
   * (`index`, `term`) as its last plausible match could agree with ours. Scans back only over
   * entries of higher terms, so one call skips whole terms.
   */
  findConflictByTerm (index: number, term: number): number {
    let i = Math.min(index, this.lastIndex())
    while (i > this.snapIndex && this.term(i) > term) i--
    return i
  }

  /** Drops in-memory entries up to `meta.index`, which the host's snapshot now covers. */
  compact (meta: SnapshotMeta): void {
    assert(meta.index > this.snapIndex, 'compaction moves forward')
    assert(meta.index <= this.commit, 'only committed entries are compacted')
    assert(this.term(meta.index) === meta.term, 'snapshot term matches the log')
    this.ents.splice(0, meta.index - this.snapIndex)
    this.snapIndex = meta.index
    this.snapTerm = meta.term
  }

  /**
   * Replaces the whole log with a snapshot received from the leader. What was persisted beyond
   * the old commit may conflict with the snapshot's history, so it no longer counts as durable.
   */
  restore (meta: SnapshotMeta): void {
    assert(meta.index > this.commit, 'a snapshot restore moves commit forward')
    this.persistedTo = Math.min(this.persistedTo, this.commit)
    this.ents = []
    this.snapIndex = meta.index
    this.snapTerm = meta.term
    this.commit = meta.index
    this.unstableFrom = meta.index + 1
  }
}
