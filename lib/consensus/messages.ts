/**
 * The messages consensus cores exchange. Owns the wire shapes only: every message is plain data
 * (strings, numbers, booleans, Uint8Array, arrays, plain objects), so a transport can encode it
 * with msgpackr and a test can compare it structurally. Messages are immutable once built: a
 * receiving core never mutates one (the simulator freezes them to prove it).
 *
 * Term handling (see core.ts): `prop`, `readIndex` and `readIndexResp` are term-agnostic; every
 * other message is subject to Raft's term rules (§5.1): a higher term makes the receiver a
 * follower, a lower one is stale.
 */
import type { Entry, MessageBase, SnapshotMeta } from './types.js'

/** A follower forwards proposals to the leader it knows, batched per Ready. */
export interface PropMessage extends MessageBase {
  readonly type: 'prop'
  readonly data: readonly Uint8Array[]
}

/**
 * AppendEntries (Raft §5.3): `entries` follow the entry at (`index`, `logTerm`); `commit` is the
 * leader's commit index. An empty `entries` only carries `commit`.
 */
export interface AppMessage extends MessageBase {
  readonly type: 'app'
  readonly index: number
  readonly logTerm: number
  readonly entries: readonly Entry[]
  readonly commit: number
}

/**
 * The answer to `app` (or a completed snapshot). On success `index` is the last index the
 * follower durably holds matching the leader. On reject `index` is the rejected `app.index` and
 * (`hintIndex`, `hintTerm`) is the follower's guess at the last entry that could match, so the
 * leader can skip a whole term per round trip instead of one entry.
 */
export interface AppRespMessage extends MessageBase {
  readonly type: 'appResp'
  readonly index: number
  readonly reject: boolean
  readonly hintIndex: number
  readonly hintTerm: number
}

/**
 * Leader heartbeat. `commit` is min(the follower's match, leader commit), so a follower can
 * always adopt it. `seq` is the leader's latest ReadIndex round; echoing it confirms leadership.
 * (`ahead`, `aheadTerm`), when present, is a committed entry past `commit` that was sent to the
 * follower but not yet acknowledged: a follower holding that entry with that term holds the
 * leader's log up to it (Log Matching, §5.3) and adopts `ahead` as its commit index.
 */
export interface HeartbeatMessage extends MessageBase {
  readonly type: 'hb'
  readonly commit: number
  readonly seq: number
  readonly ahead?: number
  readonly aheadTerm?: number
}

/**
 * Answer to `hb`, echoing its `seq`, with the follower's last log index. Also sent at a higher
 * term to unseat a stale leader.
 */
export interface HeartbeatRespMessage extends MessageBase {
  readonly type: 'hbResp'
  readonly seq: number
  /** Lets the leader notice a follower that lost acknowledged entries (in-memory, restarted). */
  readonly lastIndex: number
}

/**
 * RequestVote (Raft §5.2) and its pre-vote twin (Raft thesis §9.6). A pre-vote carries the term
 * the sender would campaign at, without anyone changing term. `force` is set only by a
 * leadership transfer and overrides the leader lease of check-quorum.
 */
export interface VoteMessage extends MessageBase {
  readonly type: 'vote' | 'preVote'
  readonly index: number
  readonly logTerm: number
  readonly force: boolean
}

/** Answer to `vote` / `preVote`. */
export interface VoteRespMessage extends MessageBase {
  readonly type: 'voteResp' | 'preVoteResp'
  readonly reject: boolean
}

/**
 * One chunk of an InstallSnapshot (Raft §7): bytes [offset, offset + data.length) of a snapshot
 * of `totalBytes`; `done` on the last chunk.
 */
export interface SnapMessage extends MessageBase {
  readonly type: 'snap'
  readonly meta: SnapshotMeta
  readonly offset: number
  readonly totalBytes: number
  readonly data: Uint8Array
  readonly done: boolean
}

/** Flow control for a snapshot transfer: the follower holds `offset` bytes of snapshot `index`. */
export interface SnapRespMessage extends MessageBase {
  readonly type: 'snapResp'
  readonly index: number
  readonly offset: number
}

/** A follower asks the leader for a ReadIndex on behalf of its host's read `ctx`. */
export interface ReadIndexMessage extends MessageBase {
  readonly type: 'readIndex'
  readonly ctx: string
}

/** The leader's answer to `readIndex`: serve `ctx` once applied up to `index`. */
export interface ReadIndexRespMessage extends MessageBase {
  readonly type: 'readIndexResp'
  readonly ctx: string
  readonly index: number
}

/** Leadership transfer (Raft thesis §3.10): campaign now, skipping pre-vote and lease. */
export interface TimeoutNowMessage extends MessageBase {
  readonly type: 'timeoutNow'
}

/** Every message a core sends or accepts. */
export type Message =
  | PropMessage | AppMessage | AppRespMessage | HeartbeatMessage | HeartbeatRespMessage
  | VoteMessage | VoteRespMessage | SnapMessage | SnapRespMessage
  | ReadIndexMessage | ReadIndexRespMessage | TimeoutNowMessage

/** The `type` tags of {@link Message}. */
export type MessageType = Message['type']

/** True for messages only a leader of `m.term` sends; receiving one names that leader. */
export function isLeaderMessage (m: Message): m is AppMessage | HeartbeatMessage | SnapMessage | TimeoutNowMessage {
  return m.type === 'app' || m.type === 'hb' || m.type === 'snap' || m.type === 'timeoutNow'
}

