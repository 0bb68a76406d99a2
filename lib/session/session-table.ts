/**
 * The replicated table of live sessions: part of the state machine, changed only by applying
 * committed commands, identical on every peer. It also deduplicates writes: each write of a
 * session carries a sequence number, and only the next expected one is applied, so a peer can
 * safely re-send proposals after a leader change (a duplicate or an out-of-order copy is
 * skipped, never applied twice).
 *
 * Liveness (when a session was last heard from) is not replicated: only the leader tracks it,
 * in the peer, and commits a close when a session goes silent past its timeout.
 */
import type { PeerId } from '../consensus/types.js'

/** One live session as every peer knows it. */
export interface SessionRecord {
  readonly id: bigint
  readonly timeoutMs: number
  /** The peer whose host code opened it (it heartbeats the session to the leader). */
  readonly owner: PeerId
  /** The origin's nonce for the open, so a re-sent open finds this session instead of making another. */
  readonly nonce: string
  /** The sequence number of the next write to apply. */
  nextSeq: number
}

/** What the table says about an incoming write's sequence number. */
export type SeqVerdict = 'apply' | 'duplicate' | 'gap' | 'unknown-session'

/** The replicated session table. */
export class SessionTable {
  private readonly sessions = new Map<bigint, SessionRecord>()
  /** `owner/nonce` of every live session → its id. */
  private readonly byOpen = new Map<string, bigint>()

  /** Number of live sessions. */
  get size (): number {
    return this.sessions.size
  }

  /** Adds a session opened at a committed `open` command. */
  open (id: bigint, owner: PeerId, timeoutMs: number, nonce: string): SessionRecord {
    const record: SessionRecord = { id, owner, nonce, timeoutMs, nextSeq: 1 }
    this.sessions.set(id, record)
    this.byOpen.set(`${owner}/${nonce}`, id)
    return record
  }

  /** The live session an open with this owner and nonce already created, if any. */
  openedBy (owner: PeerId, nonce: string): bigint | undefined {
    return this.byOpen.get(`${owner}/${nonce}`)
  }

  /** Removes a session; returns false if it was not live. */
  close (id: bigint): boolean {
    const record = this.sessions.get(id)
    if (record === undefined) return false
    this.byOpen.delete(`${record.owner}/${record.nonce}`)
    return this.sessions.delete(id)
  }

  /** The record of a live session, if any. */
  get (id: bigint): SessionRecord | undefined {
    return this.sessions.get(id)
  }

  /** Every live session. */
  all (): IterableIterator<SessionRecord> {
    return this.sessions.values()
  }

  /**
   * Decides whether write `seq` of session `id` applies now, and if so consumes it. A sequence
   * number below the next expected one is a re-sent copy; one above means an earlier write of
   * that session was lost in a leader change and will be re-sent, so this one must wait too.
   */
  admit (id: bigint, seq: number): SeqVerdict {
    const record = this.sessions.get(id)
    if (record === undefined) return 'unknown-session'
    if (seq < record.nextSeq) return 'duplicate'
    if (seq > record.nextSeq) return 'gap'
    record.nextSeq++
    return 'apply'
  }

  /** Plain rows for a snapshot. */
  toRows (): Array<[string, PeerId, number, number, string]> {
    return [...this.sessions.values()].map((s) => [s.id.toString(), s.owner, s.timeoutMs, s.nextSeq, s.nonce])
  }

  /** Rebuilds a table from {@link toRows}' output. */
  static fromRows (rows: ReadonlyArray<readonly [string, PeerId, number, number, string]>): SessionTable {
    const table = new SessionTable()
    for (const [id, owner, timeoutMs, nextSeq, nonce] of rows) table.open(BigInt(id), owner, timeoutMs, nonce).nextSeq = nextSeq
    return table
  }
}
