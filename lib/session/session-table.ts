/**
 * The replicated table of live sessions: part of the state machine, changed only by applying
 * committed commands, identical on every peer. It also deduplicates writes: each write of a
 * session carries a sequence number, and only the next expected one is applied, so a peer can
 * safely re-send proposals after a leader change (a duplicate or an out-of-order copy is
 * skipped, never applied twice).
 *
 * A session is owned by one peer at a time (the one its client is attached to). A client that
 * presents the session's id and password to another peer moves it there: an `attach` command
 * makes that peer the owner and starts a new ownership epoch with its own range of sequence
 * numbers, so writes the previous owner still had in flight can never be applied afterwards.
 *
 * Liveness (when a session was last heard from) is not replicated: only the leader tracks it,
 * in the peer, and commits a close when a session goes silent past its timeout.
 */
import type { PeerId } from '../consensus/types.js'

/** Sequence numbers per ownership epoch: epoch `e` numbers its writes from `e × SEQ_SPAN + 1`. */
export const SEQ_SPAN = 2 ** 32

/** One live session as every peer knows it. */
export interface SessionRecord {
  readonly id: bigint
  readonly timeoutMs: number
  /** The peer the session's client is attached to (it heartbeats the session to the leader). */
  owner: PeerId
  /** `origin/nonce` of the open, so a re-sent open finds this session instead of making another. */
  readonly opener: string
  /** `origin/nonce` of the latest attach, so a re-sent attach is not a second move. */
  lastAttach: string
  /** Ownership epoch: 0 at open, one more at every move. */
  epoch: number
  /** The secret a client presents (with the id) to attach to the session elsewhere. */
  readonly password: Uint8Array
  /** The sequence number of the next write to apply. */
  nextSeq: number
}

/** What the table says about an incoming write's sequence number. */
export type SeqVerdict = 'apply' | 'duplicate' | 'gap' | 'unknown-session'

/** The outcome of an attach: moved, a re-sent copy of the move that already happened, or refused. */
export type AttachVerdict = 'attached' | 'duplicate' | 'refused'

/** A snapshot row: id, owner, timeout, next seq, opener, last attach, epoch, password. */
export type SessionRow = readonly [string, PeerId, number, number, string, string, number, Uint8Array]

/** The replicated session table. */
export class SessionTable {
  private readonly sessions = new Map<bigint, SessionRecord>()
  /** `owner/nonce` of every live session's open → its id. */
  private readonly byOpen = new Map<string, bigint>()

  /** Number of live sessions. */
  get size (): number {
    return this.sessions.size
  }

  /** Adds a session opened at a committed `open` command. */
  open (id: bigint, owner: PeerId, timeoutMs: number, nonce: string, password: Uint8Array): SessionRecord {
    const opener = `${owner}/${nonce}`
    // A copy: the password may be a view into the log entry, which must not stay pinned.
    const record: SessionRecord = { id, owner, opener, lastAttach: '', epoch: 0, password: Uint8Array.from(password), timeoutMs, nextSeq: 1 }
    this.sessions.set(id, record)
    this.byOpen.set(opener, id)
    return record
  }

  /** The live session an open with this owner and nonce already created, if any. */
  openedBy (owner: PeerId, nonce: string): bigint | undefined {
    return this.byOpen.get(`${owner}/${nonce}`)
  }

  /**
   * Moves session `id` to `origin` if `password` is its password. A re-sent copy of the latest
   * attach (same origin and nonce) changes nothing. A refused attach (no such live session, or a
   * wrong password) changes nothing either: as ZooKeeper, the client cannot tell which.
   */
  attach (id: bigint, origin: PeerId, nonce: string, password: Uint8Array): AttachVerdict {
    const record = this.sessions.get(id)
    if (record === undefined || !samePassword(record.password, password)) return 'refused'
    const key = `${origin}/${nonce}`
    if (record.lastAttach === key) return 'duplicate'
    record.owner = origin
    record.lastAttach = key
    record.epoch++
    record.nextSeq = record.epoch * SEQ_SPAN + 1
    return 'attached'
  }

  /**
   * Removes a session; returns false if it was not live, or if `epoch` is given and the session
   * has moved since (a close its former owner sent before the move must not end it).
   */
  close (id: bigint, epoch?: number): boolean {
    const record = this.sessions.get(id)
    if (record === undefined || (epoch !== undefined && epoch !== record.epoch)) return false
    this.byOpen.delete(record.opener)
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
   * number below the next expected one is a re-sent copy (or a write of an earlier owner); one
   * above means an earlier write of that session was lost in a leader change and will be
   * re-sent, so this one must wait too.
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
  toRows (): SessionRow[] {
    return [...this.sessions.values()].map((s) => [s.id.toString(), s.owner, s.timeoutMs, s.nextSeq, s.opener, s.lastAttach, s.epoch, s.password])
  }

  /** Rebuilds a table from {@link toRows}' output. */
  static fromRows (rows: readonly SessionRow[]): SessionTable {
    const table = new SessionTable()
    for (const [id, owner, timeoutMs, nextSeq, opener, lastAttach, epoch, password] of rows) {
      const record: SessionRecord = { id: BigInt(id), owner, opener, lastAttach, epoch, password: Uint8Array.from(password), timeoutMs, nextSeq }
      table.sessions.set(record.id, record)
      table.byOpen.set(opener, record.id)
    }
    return table
  }
}

/** Constant-time comparison: how long a refusal takes must not tell how much of a guess was right. */
function samePassword (a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number)
  return diff === 0
}
