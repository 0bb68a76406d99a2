/**
 * The data the consensus core exchanges with its host (the Peer or the simulator): log entries,
 * the durable vote, snapshots, messages and the Ready batch. Plain data only, so every value
 * can be encoded with msgpackr and compared in tests.
 */

/** A peer's id, unique in its ensemble. */
export type PeerId = string

/**
 * One log entry. `index` is the entry's position (it is the zxid of the transaction it carries);
 * `data` is opaque to the core. An entry with empty `data` is a leader's no-op, appended when
 * it takes office; hosts skip it when applying.
 */
export interface Entry {
  readonly term: number
  readonly index: number
  readonly data: Uint8Array
}

/** What must be durable before any message that depends on it is sent. */
export interface HardState {
  readonly term: number
  readonly vote: PeerId | null
  readonly commit: number
}

/** Identifies the log position and voters a snapshot covers. */
export interface SnapshotMeta {
  readonly index: number
  readonly term: number
  readonly voters: readonly PeerId[]
}

/** A snapshot of the host's state machine as of `meta.index`. */
export interface Snapshot {
  readonly meta: SnapshotMeta
  readonly data: Uint8Array
}

/**
 * A snapshot for the core to send, which the host may still be encoding: `data` already has the
 * snapshot's final length, but only its first `written()` bytes are final, and the core sends
 * no further. `written()` never decreases and ends at `data.length`; the host calls
 * `RaftCore.snapshotWritten()` when it grew. Without `written`, all of `data` is final.
 */
export interface OutgoingSnapshot extends Snapshot {
  readonly written?: () => number
}

/**
 * One piece of a snapshot the follower is receiving from the leader of `term`: bytes
 * [offset, offset + data.length) of the snapshot at `meta`, `totalBytes` long. The core hands
 * pieces over in order, without gaps, as they arrive, and keeps none itself: a host may decode
 * them as they come instead of holding the whole snapshot. A piece at offset 0 starts a new
 * transfer (whatever was built from earlier pieces is discarded).
 */
export interface SnapshotPiece {
  readonly meta: SnapshotMeta
  readonly term: number
  readonly offset: number
  readonly totalBytes: number
  readonly data: Uint8Array
}

/** A linearizable-read permit: once the host has applied up to `index`, `ctx`'s read may be served. */
export interface ReadState {
  readonly ctx: string
  readonly index: number
}

/** The role a core currently plays. */
export type Role = 'leader' | 'follower' | 'candidate' | 'precandidate'

/** Volatile state the host may show (role, term, known leader). */
export interface SoftState {
  readonly role: Role
  readonly term: number
  readonly leaderId: PeerId | undefined
}

/** Every message carries where it is from and to, and the sender's term. */
export interface MessageBase {
  readonly type: string
  readonly from: PeerId
  readonly to: PeerId
  readonly term: number
}

/**
 * One batch of work the core hands its host. The host must, in this order:
 * 0. if `snapshotAbandoned`, discard what it built from the pieces of earlier Readies; then take
 *    `snapshotPieces` (in order) into the snapshot it is assembling or decoding;
 * 1. persist `snapshot` (if any), `hardState` (if any) and `entries` (replacing any stored
 *    suffix from `entries[0].index` on) durably, in one write; a `snapshot` replaces the whole
 *    stored log (entries before and after it are dropped: the snapshot is the new log base).
 *    A received snapshot's bytes are the pieces handed since its piece at offset 0, the last
 *    of them in this same Ready;
 * 2. install `snapshot` into its state machine, if any;
 * 3. send `messages`;
 * 4. apply `committed` in order, serve `readStates` once applied far enough;
 * 5. call `core.advance(ready)`.
 * Exception to the order: the messages a leader sends to replicate (`isLeaderMessage`:
 * appends, heartbeats, snapshot chunks, TimeoutNow) may go out before step 1 completes, so the
 * followers' writes overlap the leader's own (Raft thesis §10.2.1). It is safe because the core
 * counts the leader's own log towards a quorum only once told it is durable; every other message
 * (votes, acknowledgements) depends on what step 1 makes durable and must wait for it.
 * Asynchronous writes: a host whose storage keeps writes in order may, without a snapshot,
 * issue step 1 and go on with steps 3–5 at once, calling `core.advance(ready, { durable: false })`
 * and later `core.persisted(ready)` when the write (with every earlier one) is durable. It then
 * holds the messages other than the leader's until every write issued up to this Ready's is
 * durable, even when this Ready writes nothing. Applying `committed` early is safe: a quorum
 * holds those entries durably whatever this peer's disk does.
 * A `hardState` that only advances `commit` (same term and vote) need not be durable before
 * steps 2–5: the commit index is volatile in Raft, and recovering a lower one only re-learns it.
 */
export interface Ready {
  readonly softState: SoftState | undefined
  readonly hardState: HardState | undefined
  /** A snapshot received from the leader, complete: its bytes came in `snapshotPieces`. */
  readonly snapshot: SnapshotMeta | undefined
  /** Pieces of a snapshot being received, in order (see {@link SnapshotPiece}). */
  readonly snapshotPieces: readonly SnapshotPiece[]
  /**
   * The pieces handed in earlier Readies will not complete a snapshot (the transfer was
   * superseded, the term changed, or the log got there first): discard what was built from them.
   */
  readonly snapshotAbandoned: boolean
  readonly entries: readonly Entry[]
  readonly messages: readonly MessageBase[]
  readonly committed: readonly Entry[]
  readonly readStates: readonly ReadState[]
}

/** What a core needs to resume from durable storage. */
export interface DurableState {
  readonly hardState: HardState
  readonly snapshot: SnapshotMeta | undefined
  /** Entries after the snapshot, contiguous. */
  readonly entries: readonly Entry[]
}
