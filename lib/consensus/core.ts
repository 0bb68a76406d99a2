/**
 * RaftCore: a pure, deterministic Raft state machine with pre-vote and check-quorum (Raft
 * thesis §9.6, §6.2), pipelined replication, chunked snapshot transfer, ReadIndex and leadership
 * transfer. It is fed `tick()`, `step(message)`, `propose(data)`, `readIndex(ctx)` and
 * `peerDisconnected(peer)`, and hands its work back as one {@link Ready} batch at a time
 * (`ready()` … `advance(ready)`).
 *
 * It owns: term, vote, role, the in-memory log, commit and applied indexes, the leader's
 * per-follower progress. It must not touch: clocks, timers, randomness other than the injected
 * `random`, I/O, Promises. Time is a count of `tick()` calls.
 *
 * Durability rules (why the Ready contract is what it is):
 * - every message goes out in a Ready whose snapshot/hardState/entries the host persisted
 *   first, so a vote or an append acknowledgement never refers to state a crash could lose;
 * - the leader counts its own log toward a quorum only up to what the host confirmed durable
 *   (`advance()`, or `persisted()` for a write that completes after its Ready was advanced);
 * - the leader commits by counting only entries of its own term (Raft §5.4.2); earlier entries
 *   commit with them.
 *
 * Between `ready()` and `advance()` the host may keep calling `step`, `tick`, `propose`: what
 * they produce waits for the next Ready. Only one Ready is outstanding at a time, but many
 * Readies' writes may be in flight (advanced with `{ durable: false }`, not yet `persisted`).
 */
import { assert } from '../assert.js'
import { RaftLog } from './log.js'
import type { AppMessage, AppRespMessage, HeartbeatRespMessage, Message, SnapMessage, SnapRespMessage, VoteMessage, VoteRespMessage } from './messages.js'
import { isLeaderMessage } from './messages.js'
import { Progress, type ProgressState } from './progress.js'
import { quorumSize, quorumValue } from './quorum.js'
import { ReadOnlyQueue, type PendingRead } from './read-only.js'
import type { DurableState, HardState, OutgoingSnapshot, PeerId, ReadState, Ready, Role, SnapshotMeta, SnapshotPiece, SoftState } from './types.js'

/** Options of {@link RaftCore}. Every limit bounds a queue or a batch. */
export interface RaftCoreConfig {
  /** This peer's id; must be one of `voters`. */
  readonly id: PeerId
  /** The ensemble, identical on every peer. */
  readonly voters: readonly PeerId[]
  /** Election timeout base in ticks; a follower campaigns after a random [n, 2n) silent ticks. Default 10. */
  readonly electionTicks?: number
  /** Leader heartbeat interval in ticks; must be below `electionTicks`. Default 1. */
  readonly heartbeatTicks?: number
  /** Uniform random integer in [min, max] (inclusive), e.g. `env.random.intInclusive`. */
  readonly random: (min: number, max: number) => number
  /** What the host loaded from its storage (empty on first start). */
  readonly durable: DurableState
  /** Appends in flight per follower in pipelined replication. Default 256. */
  readonly maxInflightAppends?: number
  /** Entry bytes per append message (at least one entry is always sent). Default 1 MiB. */
  readonly maxBytesPerAppend?: number
  /** Entry bytes in flight per follower, and snapshot bytes (at least one chunk). Default 16 MiB. */
  readonly maxInflightBytes?: number
  /** Bytes per InstallSnapshot chunk. Default 256 KiB. */
  readonly snapshotChunkBytes?: number
  /**
   * Called, synchronously from `ready()`, when a follower needs entries this log no longer
   * holds: returns a snapshot of the host's state machine at an applied index of at least
   * `minIndex` (`meta.term` that entry's term), or undefined when none is ready yet. Then the
   * host prepares one (encoding a large state takes a while, and should not block it), and the
   * core asks again each time it next has something for that follower (every heartbeat
   * answer). The core keeps no snapshot bytes of its own: it pins the returned one only while
   * followers are streaming it (one serves every follower that needs it meanwhile), so that
   * between transfers no copy of the state sits in memory. The snapshot may still be being
   * encoded (see {@link OutgoingSnapshot}): its bytes go out as they are written. Required once
   * the log was compacted or restored from a snapshot and a follower falls behind it.
   */
  readonly takeSnapshot?: (minIndex: number) => OutgoingSnapshot | undefined
  /** Proposals appended but not committed (leader) or waiting to be forwarded (follower) before `propose` refuses. Default 100,000. */
  readonly maxUncommittedEntries?: number
  /**
   * Entries kept in memory before a new snapshot's index, so a follower slightly behind (or one
   * that just installed a snapshot) catches up from the log instead of needing another
   * snapshot. Default 5,000.
   */
  readonly compactRetainEntries?: number
  /**
   * …and at most this many bytes of entry data: a few big entries (multis) must not keep
   * hundreds of MB of log in memory beside the state they built. A leader keeps more, up to
   * 4 × `maxInflightBytes`, while an active follower still needs them, so that a follower
   * merely behind in the pipeline is not sent a snapshot. Default 4 MiB.
   */
  readonly compactRetainBytes?: number
  /** ReadIndex requests waiting before `readIndex` refuses. Default 10,000. */
  readonly maxPendingReads?: number
  /** Adds expensive invariant checks after every call (the simulator turns this on). */
  readonly paranoid?: boolean
}

/** The leader's view of one follower, as reported by {@link RaftCore.status}. */
export interface PeerProgress {
  readonly match: number
  readonly next: number
  readonly state: ProgressState
  /** Entries the follower is missing: leader's last index minus its match. */
  readonly lagEntries: number
}

/** A snapshot of the core's state for monitoring and tests. */
export interface CoreStatus {
  readonly id: PeerId
  readonly role: Role
  readonly term: number
  readonly vote: PeerId | null
  readonly leaderId: PeerId | undefined
  readonly commit: number
  readonly applied: number
  readonly lastIndex: number
  /** Per voter (the leader included), only while leading; empty otherwise. */
  readonly progress: Readonly<Record<PeerId, PeerProgress>>
}

/** A read waiting for the leader's first commit in its term. */
interface EarlyRead { readonly ctx: string, readonly from: PeerId }

/** A snapshot being received in chunks from the leader of `term`; its bytes go to the host. */
interface IncomingSnapshot {
  readonly meta: SnapshotMeta
  readonly term: number
  readonly totalBytes: number
  received: number
}

const EMPTY = new Uint8Array(0)

/**
 * Ticks between the early campaigns of followers that lost the leader's connection, in id
 * order, and how long they ignore that leader's late messages (see
 * {@link RaftCore.peerDisconnected}). Two, not one: a delay of one tick can end within a moment
 * (the tick may be just about to fire), and two pre-vote rounds that overlap grant each other
 * and split the vote; two ticks leave at least a whole tick, many round trips, for the first
 * follower to become candidate, after which it refuses the next one's pre-vote.
 */
const DISCONNECT_STAGGER_TICKS = 2

/** The consensus core. See the module comment for its contract. */
export class RaftCore {
  readonly id: PeerId
  private readonly voters: readonly PeerId[]
  private readonly voterSet: ReadonlySet<PeerId>
  private readonly quorum: number
  private readonly electionTicks: number
  private readonly heartbeatTicks: number
  private readonly random: (min: number, max: number) => number
  private readonly maxInflightAppends: number
  private readonly maxBytesPerAppend: number
  private readonly maxInflightBytes: number
  private readonly snapshotChunkBytes: number
  private readonly maxUncommittedEntries: number
  private readonly maxPendingReads: number
  private readonly compactRetainEntries: number
  private readonly compactRetainBytes: number
  private readonly paranoid: boolean

  protected term: number
  protected vote: PeerId | null
  protected role: Role = 'follower'
  protected leaderId: PeerId | undefined = undefined
  protected readonly log: RaftLog
  private applied: number

  private electionElapsed = 0
  private heartbeatElapsed = 0
  private randomizedElectionTicks = 0
  /**
   * The leader the transport reported lost, while this peer campaigns early (for an election
   * timeout at most after the report; see {@link peerDisconnected}); undefined otherwise.
   */
  private lostLeader: PeerId | undefined = undefined
  /** Ticks since `lostLeader` was reported. */
  private lostTicks = 0
  /** This peer's place, in id order, among the voters other than `lostLeader`. */
  private lostRank = 0
  private readonly votes = new Map<PeerId, boolean>()

  /** Leader state, rebuilt on every election won. */
  private progress = new Map<PeerId, Progress>()
  private progressList: Progress[] = []
  private readonly matchScratch: number[]
  private readonly valueScratch: number[]
  private readOnly: ReadOnlyQueue
  private earlyReads: EarlyRead[] = []
  private leadTransferee: PeerId | undefined = undefined
  /** The leader has something to send that `ready()` will build (batched appends). */
  private dirty = false

  private outbox: Message[] = []
  private forwardBuf: Uint8Array[] = []
  private readStates: ReadState[] = []
  private readonly takeSnapshot: ((minIndex: number) => OutgoingSnapshot | undefined) | undefined
  /** Index of the host's latest snapshot (local or received); older ones are ignored. */
  private snapshotIndex: number
  /** A received snapshot the host must still persist and install (its last pieces are in `pieces`). */
  private pendingSnapshot: SnapshotMeta | undefined = undefined
  private incoming: IncomingSnapshot | undefined = undefined
  /** Pieces of `incoming` (or of `pendingSnapshot`) for the next Ready; never of two transfers. */
  private pieces: SnapshotPiece[] = []
  /** Pieces handed in earlier Readies were of a transfer dropped since. */
  private piecesAbandoned = false

  private prevHard: HardState
  private prevSoft: SoftState
  private outstanding: Ready | undefined = undefined

  /** Builds a follower from durable state; it will campaign after an election timeout. */
  constructor (cfg: RaftCoreConfig) {
    this.id = cfg.id
    this.voters = cfg.voters.slice()
    this.voterSet = new Set(this.voters)
    assert(this.voterSet.size === this.voters.length, 'voters are distinct')
    assert(this.voterSet.has(cfg.id), 'a core is one of the voters')
    this.quorum = quorumSize(this.voters.length)
    this.electionTicks = cfg.electionTicks ?? 10
    this.heartbeatTicks = cfg.heartbeatTicks ?? 1
    assert(this.heartbeatTicks >= 1, 'heartbeatTicks >= 1')
    assert(this.electionTicks > this.heartbeatTicks, 'electionTicks > heartbeatTicks')
    this.random = cfg.random
    this.maxInflightAppends = cfg.maxInflightAppends ?? 256
    this.maxBytesPerAppend = cfg.maxBytesPerAppend ?? 1 << 20
    this.maxInflightBytes = cfg.maxInflightBytes ?? 16 << 20
    this.snapshotChunkBytes = cfg.snapshotChunkBytes ?? 256 << 10
    this.maxUncommittedEntries = cfg.maxUncommittedEntries ?? 100_000
    this.maxPendingReads = cfg.maxPendingReads ?? 10_000
    this.compactRetainEntries = cfg.compactRetainEntries ?? 5_000
    this.compactRetainBytes = cfg.compactRetainBytes ?? 4 << 20
    assert(this.snapshotChunkBytes >= 1, 'snapshot chunks carry bytes')
    this.paranoid = cfg.paranoid ?? false

    const d = cfg.durable
    this.term = d.hardState.term
    this.vote = d.hardState.vote
    this.takeSnapshot = cfg.takeSnapshot
    this.log = new RaftLog(d.snapshot, d.entries, d.hardState.commit)
    this.snapshotIndex = this.log.snapIndex
    // The host restores its state machine from the snapshot and re-applies the rest.
    this.applied = this.log.snapIndex
    this.matchScratch = new Array<number>(this.voters.length).fill(0)
    this.valueScratch = new Array<number>(this.voters.length).fill(0)
    this.readOnly = new ReadOnlyQueue(this.maxPendingReads)
    this.prevHard = d.hardState
    this.prevSoft = { role: 'follower', term: this.term, leaderId: undefined }
    this.resetElectionTimer()
  }

  // ---------------------------------------------------------------- inputs

  /** Advances logical time by one tick: election timeout, heartbeats, check-quorum. */
  tick (): void {
    if (this.role === 'leader') this.tickLeader()
    else this.tickElection()
    this.checkInvariants()
  }

  /** Feeds one message received from a peer. Messages from non-voters are ignored. */
  step (m: Message): void {
    assert(m.to === this.id, 'message is addressed to this core')
    if (!this.voterSet.has(m.from) || m.from === this.id) return
    switch (m.type) {
      // Term-agnostic: forwarded work and read answers are valid whatever term they were sent in.
      case 'prop':
        if (this.role === 'leader') for (const data of m.data) this.propose(data)
        break
      case 'readIndex':
        if (this.role === 'leader') this.requestRead(m.ctx, m.from)
        break
      case 'readIndexResp':
        this.readStates.push({ ctx: m.ctx, index: m.index })
        break
      default:
        this.stepTerm(m)
    }
    this.checkInvariants()
  }

  /**
   * Proposes `data` (non-empty) for the log. On the leader it is appended now; on a follower it
   * is forwarded to the leader with the next Ready. Returns false, dropping it, when there is no
   * known leader, a leadership transfer is under way, or too much is already uncommitted: the
   * host retries later. True does not mean it will commit: the host learns that by applying it.
   */
  propose (data: Uint8Array): boolean {
    assert(data.length > 0, 'empty data is reserved for the leader no-op')
    if (this.role === 'leader') {
      if (this.leadTransferee !== undefined) return false
      if (this.log.lastIndex() - this.log.commit >= this.maxUncommittedEntries) return false
      this.log.push({ term: this.term, index: this.log.lastIndex() + 1, data })
      this.dirty = true
      return true
    }
    if (this.leaderId === undefined || this.role !== 'follower') return false
    if (this.forwardBuf.length >= this.maxUncommittedEntries) return false
    this.forwardBuf.push(data)
    return true
  }

  /**
   * Asks for a linearizable read permit for `ctx`. It arrives later as a {@link ReadState} in a
   * Ready (on this peer, also when asked on a follower). Returns false when there is no known
   * leader or too many reads wait; a request in flight is lost if leadership changes, so the
   * host times reads out and retries.
   */
  readIndex (ctx: string): boolean {
    if (this.role === 'leader') return this.requestRead(ctx, this.id)
    if (this.leaderId === undefined || this.role !== 'follower') return false
    this.send({ type: 'readIndex', from: this.id, to: this.leaderId, term: this.term, ctx })
    return true
  }

  /**
   * The host's transport lost its connection with `peer` without closing it itself (the other
   * side closed it or it failed: a killed process's kernel closes its sockets at once). When
   * `peer` is the leader this follower follows, waiting out an election timeout would only add
   * fail-over time, so the follower stops counting on it now: it forgets the leader (its lease
   * ends, so it grants pre-votes; proposals are refused until a leader is known) and campaigns
   * with a pre-vote, at once if it has the lowest id among the voters other than `peer`, else
   * after {@link DISCONNECT_STAGGER_TICKS} ticks per voter before it in id order, so followers
   * that all lost the leader do not split the vote. Until a leader is known it repeats its
   * pre-vote in its own slot of that rotation (another follower may still have been in its
   * lease the first time, not yet told by its own transport), for at most an election timeout;
   * then the election timeout alone decides, as usual. For {@link DISCONNECT_STAGGER_TICKS}
   * ticks it ignores that leader's messages of the current term, which may still arrive from
   * before its death. Ignored in any other case. A hint that may be wrong does no harm: while
   * the leader lives, the other followers still hear it, so they ignore the pre-vote (their
   * lease holds) and terms do not move; once those ticks run out, the leader's next heartbeat
   * makes this peer its follower again.
   */
  peerDisconnected (peer: PeerId): void {
    if (this.role !== 'follower' || peer !== this.leaderId) return
    let rank = 0
    for (const v of this.voters) if (v !== peer && v < this.id) rank++
    this.leaderId = undefined
    this.forwardBuf = []
    this.lostLeader = peer
    this.lostTicks = 0
    this.lostRank = rank
    if (rank === 0) this.campaign(true, false)
    this.checkInvariants()
  }

  /**
   * The host wrote more of a snapshot it handed over while encoding it, or has one ready that
   * it answered undefined for before: the next Ready sends what followers waiting for it can
   * take. A leader's call; ignored otherwise.
   */
  snapshotWritten (): void {
    // A follower waiting for the snapshot's next bytes, or for one to be ready, is served by
    // the next flush, as for a heartbeat answer.
    if (this.role === 'leader') this.dirty = true
  }

  /**
   * Leader only: hands leadership to `to` (default: the most caught-up follower). Proposals are
   * refused meanwhile; the target is caught up, then told to campaign at once (TimeoutNow). The
   * attempt is abandoned after an election timeout. Returns false when not leader or no target.
   */
  transferLeadership (to?: PeerId): boolean {
    if (this.role !== 'leader') return false
    let target = to
    if (target === undefined) {
      let best = -1
      for (const pr of this.progressList) {
        if (pr.id !== this.id && pr.match > best) { best = pr.match; target = pr.id }
      }
    }
    if (target === undefined || target === this.id || !this.voterSet.has(target)) return false
    this.leadTransferee = target
    // The transfer gets a full election timeout before it is abandoned.
    this.electionElapsed = 0
    const pr = this.mustProgress(target)
    if (pr.match === this.log.lastIndex()) this.sendTimeoutNow(target)
    else this.dirty = true
    return true
  }

  /**
   * The host can produce a snapshot of its state machine at `meta.index` (at most what it has
   * applied and advanced), stored or from `takeSnapshot` on demand: the core forgets its
   * entries before it except the last `compactRetainEntries`, themselves cut to
   * `compactRetainBytes` of data. A follower that needs earlier entries is then sent a snapshot
   * from `takeSnapshot`. Snapshots not newer than the current one are ignored. Returns how many
   * entries before `meta.index` the core still holds (0 when it compacted past it already),
   * for the host to keep as many in its storage.
   */
  compact (meta: SnapshotMeta): number {
    assert(meta.index <= this.applied, 'a snapshot covers only applied entries')
    if (meta.index <= this.snapshotIndex) return Math.max(0, meta.index - this.log.snapIndex)
    assert(meta.index <= this.log.snapIndex || this.log.term(meta.index) === meta.term, 'snapshot term matches the log')
    this.snapshotIndex = meta.index
    const floor = Math.max(this.log.snapIndex, meta.index - this.compactRetainEntries)
    let needed = meta.index
    if (this.role === 'leader') {
      for (const pr of this.progressList) if (pr.id !== this.id && pr.recentActive) needed = Math.min(needed, pr.match)
    }
    let upTo = meta.index
    let bytes = 0
    while (upTo > floor) {
      bytes += this.log.entry(upTo).data.length
      const keep = bytes <= this.compactRetainBytes || (upTo > needed && bytes <= 4 * this.maxInflightBytes)
      if (!keep) break
      upTo--
    }
    if (upTo > this.log.snapIndex) {
      this.log.compact({ index: upTo, term: this.log.term(upTo), voters: meta.voters })
    }
    this.checkInvariants()
    return meta.index - upTo
  }

  // ---------------------------------------------------------------- Ready

  /** True when `ready()` would return work (and no Ready is outstanding). */
  hasReady (): boolean {
    if (this.outstanding !== undefined) return false
    const log = this.log
    return this.outbox.length > 0 ||
      this.forwardBuf.length > 0 ||
      this.readStates.length > 0 ||
      this.pendingSnapshot !== undefined ||
      this.pieces.length > 0 ||
      this.piecesAbandoned ||
      log.unstableFrom <= log.lastIndex() ||
      log.commit > this.applied ||
      this.dirty ||
      this.readOnly.roundNeeded ||
      this.hardChanged() ||
      this.softChanged()
  }

  /**
   * Takes the next batch of work; the host must process it per the Ready contract and then
   * call `advance(ready)` before the next `ready()`.
   */
  ready (): Ready {
    assert(this.outstanding === undefined, 'advance the previous Ready first')
    if (this.role === 'leader') this.flush()
    if (this.forwardBuf.length > 0) {
      assert(this.leaderId !== undefined, 'forwarded proposals have a leader')
      this.send({ type: 'prop', from: this.id, to: this.leaderId, term: this.term, data: this.forwardBuf })
      this.forwardBuf = []
    }
    const log = this.log
    let softState: SoftState | undefined
    if (this.softChanged()) {
      softState = { role: this.role, term: this.term, leaderId: this.leaderId }
      this.prevSoft = softState
    }
    let hardState: HardState | undefined
    if (this.hardChanged()) {
      hardState = { term: this.term, vote: this.vote, commit: log.commit }
      this.prevHard = hardState
    }
    const last = log.lastIndex()
    const entries = log.slice(log.unstableFrom, last + 1)
    log.unstableFrom = last + 1
    const snapshot = this.pendingSnapshot
    this.pendingSnapshot = undefined
    // Committed entries are durable on a quorum and were handed to the host in this or an
    // earlier Ready: they may be applied before this peer's own copy is durable.
    const from = Math.max(this.applied, snapshot?.index ?? 0) + 1
    const committed = log.slice(from, log.commit + 1)
    const rd: Ready = {
      softState,
      hardState,
      snapshot,
      snapshotPieces: this.pieces,
      snapshotAbandoned: this.piecesAbandoned,
      entries,
      messages: this.outbox,
      committed,
      readStates: this.readStates,
    }
    this.outbox = []
    this.readStates = []
    this.pieces = []
    this.piecesAbandoned = false
    this.outstanding = rd
    return rd
  }

  /**
   * The host has processed `rd` (the Ready last returned) per the Ready contract, and the next
   * Ready may be taken. By default its write is durable too, and durable entries now count
   * toward the leader's quorum. With `{ durable: false }` the write was only issued (storage
   * keeps writes in order) and the host reports it with {@link persisted} once it is durable;
   * meanwhile the messages that depend on it are held (see the Ready contract). A Ready that
   * carries a snapshot must be durable when advanced.
   */
  advance (rd: Ready, opts: { readonly durable?: boolean } = {}): void {
    assert(rd === this.outstanding, 'advance the outstanding Ready')
    const durable = opts.durable ?? true
    assert(durable || rd.snapshot === undefined, 'a snapshot is durable before its Ready is advanced')
    this.outstanding = undefined
    if (rd.snapshot !== undefined) {
      const index = rd.snapshot.index
      const log = this.log
      if (log.snapIndex >= index && log.persistedTo < index) log.persistedTo = index
      if (this.applied < index) this.applied = index
    }
    if (rd.committed.length > 0) {
      const lastApplied = rd.committed[rd.committed.length - 1].index
      if (lastApplied > this.applied) this.applied = lastApplied
    }
    if (durable) this.markPersisted(rd)
    this.checkInvariants()
  }

  /**
   * The write of `rd`, advanced with `{ durable: false }`, is now durable, and so is every write
   * issued before it. Hosts report writes in the order they issued them.
   */
  persisted (rd: Ready): void {
    assert(rd !== this.outstanding, 'a Ready is advanced before its write is reported durable')
    this.markPersisted(rd)
    this.checkInvariants()
  }

  /** Counts `rd`'s entries as durable (if the log still holds them) toward the leader's quorum. */
  private markPersisted (rd: Ready): void {
    const log = this.log
    const n = rd.entries.length
    if (n > 0) {
      const lastEntry = rd.entries[n - 1]
      // If that entry is still in the log, nothing before it was replaced since (Log Matching):
      // every entry up to it is what this or an earlier write made durable.
      if (log.matchTerm(lastEntry.index, lastEntry.term) && log.persistedTo < lastEntry.index) {
        log.persistedTo = lastEntry.index
      }
    }
    if (this.role === 'leader') {
      const self = this.mustProgress(this.id)
      if (self.match < log.persistedTo) {
        self.match = log.persistedTo
        self.next = log.persistedTo + 1
        this.maybeCommit()
      }
    }
  }

  /** Role, term, indexes and (on the leader) per-peer progress. */
  status (): CoreStatus {
    const progress: Record<PeerId, PeerProgress> = {}
    const last = this.log.lastIndex()
    for (const pr of this.progressList) {
      progress[pr.id] = { match: pr.match, next: pr.next, state: pr.state, lagEntries: last - pr.match }
    }
    return {
      id: this.id,
      role: this.role,
      term: this.term,
      vote: this.vote,
      leaderId: this.leaderId,
      commit: this.log.commit,
      applied: this.applied,
      lastIndex: last,
      progress,
    }
  }

  // ---------------------------------------------------------------- term rules

  private stepTerm (m: Exclude<Message, { type: 'prop' | 'readIndex' | 'readIndexResp' }>): void {
    if (m.term > this.term) {
      if (m.type === 'vote' || m.type === 'preVote') {
        // Check-quorum's lease: while we hear a leader, nobody may disrupt it (unless the
        // leader itself asked for the election by TimeoutNow).
        if (this.inLease() && !m.force) return
      }
      if (m.type === 'preVote') {
        // A pre-vote changes nobody's term.
      } else if (m.type === 'preVoteResp' && !m.reject) {
        // A grant carries the term we would campaign at, not a term anybody is in.
      } else {
        this.becomeFollower(m.term, isLeaderMessage(m) ? m.from : undefined)
      }
    } else if (m.term === this.term && m.from === this.lostLeader && this.lostTicks < DISCONNECT_STAGGER_TICKS && isLeaderMessage(m)) {
      // Sent before the leader died (it may come on another connection than the one whose
      // close was reported): it would restore the lease here and cancel the campaign.
      return
    } else if (m.term < this.term) {
      if (m.type === 'app' || m.type === 'hb' || m.type === 'snap') {
        // A stale leader (e.g. back from a partition) learns our term and steps down.
        this.send({ type: 'hbResp', from: this.id, to: m.from, term: this.term, seq: 0, lastIndex: this.log.lastIndex() })
      } else if (m.type === 'preVote') {
        this.send({ type: 'preVoteResp', from: this.id, to: m.from, term: this.term, reject: true })
      }
      return
    }

    switch (m.type) {
      case 'vote':
      case 'preVote':
        this.onVoteRequest(m)
        return
      case 'voteResp':
      case 'preVoteResp':
        this.onVoteResponse(m)
        return
      default:
    }

    if (this.role === 'leader') {
      switch (m.type) {
        case 'appResp': this.onAppResp(m); break
        case 'hbResp': this.onHeartbeatResp(m); break
        case 'snapResp': this.onSnapResp(m); break
        // Another leader in our term cannot exist; the simulator's checks catch it if it does.
        default:
      }
      return
    }

    if (isLeaderMessage(m)) {
      if (this.role !== 'follower') this.becomeFollower(this.term, m.from)
      this.leaderId = m.from
      this.electionElapsed = 0
      this.lostLeader = undefined
      switch (m.type) {
        case 'app': this.onAppend(m); break
        case 'hb':
          this.log.commitTo(Math.min(m.commit, this.log.lastIndex()))
          if (m.ahead !== undefined && m.aheadTerm !== undefined && this.log.matchTerm(m.ahead, m.aheadTerm)) this.log.commitTo(m.ahead)
          this.send({ type: 'hbResp', from: this.id, to: m.from, term: this.term, seq: m.seq, lastIndex: this.log.lastIndex() })
          break
        case 'snap': this.onSnap(m); break
        case 'timeoutNow': this.campaign(false, true); break
      }
    }
    // Responses addressed to a leader we no longer are: stale, dropped.
  }

  /** True while a leader is known and heard within an election timeout (check-quorum lease). */
  private inLease (): boolean {
    return this.leaderId !== undefined && this.electionElapsed < this.electionTicks
  }

  // ---------------------------------------------------------------- elections

  private tickElection (): void {
    this.electionElapsed++
    if (this.electionElapsed >= this.randomizedElectionTicks) this.campaign(true, false)
    else if (this.lostLeader !== undefined) this.tickLeaderLost()
  }

  /** Early campaigns after {@link peerDisconnected}: in this peer's slot, within a timeout. */
  private tickLeaderLost (): void {
    const ticks = ++this.lostTicks
    if (ticks >= this.electionTicks) {
      this.lostLeader = undefined
      return
    }
    // One slot per voter that may campaign, so the followers' pre-votes never coincide.
    const rotation = DISCONNECT_STAGGER_TICKS * (this.voters.length - 1)
    const since = ticks - this.lostRank * DISCONNECT_STAGGER_TICKS
    if (since >= 0 && since % rotation === 0 && (this.role === 'follower' || this.role === 'precandidate')) this.campaign(true, false)
  }

  /** Starts a pre-vote round (`pre`) or a real election at term + 1. */
  private campaign (pre: boolean, force: boolean): void {
    let msgTerm: number
    if (pre) {
      this.role = 'precandidate'
      msgTerm = this.term + 1
    } else {
      this.term++
      this.vote = this.id
      this.role = 'candidate'
      msgTerm = this.term
      this.abandonIncoming()
    }
    this.leaderId = undefined
    this.resetLeaderState()
    this.resetElectionTimer()
    this.votes.clear()
    this.votes.set(this.id, true)
    if (this.quorum === 1) {
      if (pre) this.campaign(false, force)
      else this.becomeLeader()
      return
    }
    const type = pre ? 'preVote' : 'vote'
    const index = this.log.lastIndex()
    const logTerm = this.log.lastTerm()
    for (const to of this.voters) {
      if (to !== this.id) this.send({ type, from: this.id, to, term: msgTerm, index, logTerm, force })
    }
  }

  private onVoteRequest (m: VoteMessage): void {
    const type = m.type === 'vote' ? 'voteResp' : 'preVoteResp'
    if (this.voteGrantable(m) && this.log.isUpToDate(m.index, m.logTerm)) {
      this.send({ type, from: this.id, to: m.from, term: m.term, reject: false })
      if (m.type === 'vote') {
        this.vote = m.from
        this.electionElapsed = 0
        // A candidate is in the running: give it the usual election timeout.
        this.lostLeader = undefined
      }
    } else {
      this.send({ type, from: this.id, to: m.from, term: this.term, reject: true })
    }
  }

  /**
   * Raft's one-vote-per-term rule (§5.2): grant only to whom we already voted for, or when we
   * have neither voted nor heard a leader in this term. A pre-vote for a later term binds
   * nothing. (Protected so tests can plant the classic double-vote bug.)
   */
  protected voteGrantable (m: VoteMessage): boolean {
    if (m.type === 'preVote' && m.term > this.term) return true
    return this.vote === m.from || (this.vote === null && this.leaderId === undefined)
  }

  private onVoteResponse (m: VoteRespMessage): void {
    const expected = this.role === 'precandidate' ? 'preVoteResp' : this.role === 'candidate' ? 'voteResp' : undefined
    if (m.type !== expected || this.votes.has(m.from)) return
    this.votes.set(m.from, !m.reject)
    let granted = 0
    let rejected = 0
    for (const v of this.votes.values()) {
      if (v) granted++
      else rejected++
    }
    if (granted >= this.quorum) {
      if (this.role === 'precandidate') this.campaign(false, false)
      else this.becomeLeader()
    } else if (rejected >= this.quorum) {
      this.becomeFollower(this.term, undefined)
    }
  }

  private becomeFollower (term: number, leaderId: PeerId | undefined): void {
    assert(term >= this.term, 'terms never go back')
    if (term > this.term) {
      this.term = term
      this.vote = null
      this.abandonIncoming()
    }
    this.role = 'follower'
    this.leaderId = leaderId
    this.resetLeaderState()
    this.resetElectionTimer()
  }

  private becomeLeader (): void {
    assert(this.role === 'candidate', 'only a candidate becomes leader')
    this.role = 'leader'
    this.leaderId = this.id
    this.lostLeader = undefined
    this.resetElectionTimer()
    const next = this.log.lastIndex() + 1
    this.progress = new Map()
    this.progressList = []
    for (const v of this.voters) {
      const pr = new Progress(v, next, this.maxInflightAppends, this.maxInflightBytes)
      if (v === this.id) {
        pr.match = this.log.persistedTo
        pr.next = pr.match + 1
        pr.state = 'replicate'
      }
      this.progress.set(v, pr)
      this.progressList.push(pr)
    }
    // The no-op lets the leader commit (hence learn) everything earlier terms left (§5.4.2, §8).
    this.log.push({ term: this.term, index: next, data: EMPTY })
    this.dirty = true
  }

  /** Drops everything only a leader holds. Pending reads are lost; hosts retry them. */
  private resetLeaderState (): void {
    this.progress = new Map()
    this.progressList = []
    this.readOnly = new ReadOnlyQueue(this.maxPendingReads)
    this.earlyReads = []
    this.leadTransferee = undefined
    this.dirty = false
    this.forwardBuf = []
  }

  private resetElectionTimer (): void {
    this.electionElapsed = 0
    this.heartbeatElapsed = 0
    this.randomizedElectionTicks = this.random(this.electionTicks, 2 * this.electionTicks - 1)
    assert(this.randomizedElectionTicks >= this.electionTicks && this.randomizedElectionTicks < 2 * this.electionTicks,
      'randomized election timeout in [electionTicks, 2 * electionTicks)')
  }

  // ---------------------------------------------------------------- follower side

  private onAppend (m: AppMessage): void {
    const log = this.log
    if (m.index < log.commit) {
      // Everything up to commit is final and matches the leader: say so.
      this.sendAppResp(m.from, log.commit, false, 0, 0)
      return
    }
    if (this.appendPrevMatches(m.index, m.logTerm)) {
      const lastNew = log.merge(m.index, m.entries)
      log.commitTo(Math.min(m.commit, lastNew))
      this.sendAppResp(m.from, lastNew, false, 0, 0)
      return
    }
    const hintIndex = log.findConflictByTerm(Math.min(m.index, log.lastIndex()), m.logTerm)
    this.sendAppResp(m.from, m.index, true, hintIndex, log.term(hintIndex))
  }

  /**
   * Raft's consistency check (§5.3): accept entries only after an entry we hold with the same
   * index and term. (Protected so tests can plant the classic missing-check bug.)
   */
  protected appendPrevMatches (index: number, term: number): boolean {
    return this.log.matchTerm(index, term)
  }

  private sendAppResp (to: PeerId, index: number, reject: boolean, hintIndex: number, hintTerm: number): void {
    const m: AppRespMessage = { type: 'appResp', from: this.id, to, term: this.term, index, reject, hintIndex, hintTerm }
    this.send(m)
  }

  /**
   * Takes a chunk of the leader's snapshot. Chunks are accepted only in order and only within
   * one transfer: from one leader (term) of one snapshot; anything else starts over at offset 0.
   * Each accepted chunk goes to the host as a piece; the last one makes it a snapshot to install.
   */
  private onSnap (m: SnapMessage): void {
    const log = this.log
    const index = m.meta.index
    if (index <= log.commit) {
      this.abandonIncoming()
      this.sendAppResp(m.from, log.commit, false, 0, 0)
      return
    }
    // A newer snapshot while a completed one still waits for the host: its pieces would mix
    // with that one's in the next Ready. Dropped as if lost; the leader resends it.
    if (this.pendingSnapshot !== undefined) return
    let inc = this.incoming
    if (inc === undefined || inc.meta.index !== index || inc.meta.term !== m.meta.term || inc.term !== m.term) {
      if (m.offset !== 0) {
        this.sendSnapResp(m.from, index, 0)
        return
      }
      this.abandonIncoming()
      inc = { meta: m.meta, term: m.term, totalBytes: m.totalBytes, received: 0 }
      this.incoming = inc
    }
    if (m.offset !== inc.received) {
      this.sendSnapResp(m.from, index, inc.received)
      return
    }
    const end = inc.received + m.data.length
    if (m.totalBytes !== inc.totalBytes || end > inc.totalBytes || m.done !== (end === inc.totalBytes)) {
      // Not a chunk of the transfer as it began (a faulty or confused leader): what came of it
      // cannot be trusted either. Start over rather than fail this peer on another's message.
      this.abandonIncoming()
      this.sendSnapResp(m.from, index, 0)
      return
    }
    this.pieces.push({ meta: inc.meta, term: inc.term, offset: m.offset, totalBytes: inc.totalBytes, data: m.data })
    inc.received = end
    if (!m.done) {
      this.sendSnapResp(m.from, index, inc.received)
      return
    }
    this.incoming = undefined
    this.restore(inc.meta)
    this.sendAppResp(m.from, index, false, 0, 0)
  }

  /** Drops a partly received snapshot: the host discards what it built from its pieces. */
  private abandonIncoming (): void {
    if (this.incoming === undefined) return
    this.incoming = undefined
    this.pieces = []
    this.piecesAbandoned = true
  }

  private sendSnapResp (to: PeerId, index: number, offset: number): void {
    const m: SnapRespMessage = { type: 'snapResp', from: this.id, to, term: this.term, index, offset }
    this.send(m)
  }

  /**
   * Adopts a snapshot received from the leader; if our log already has its last entry, just
   * commits (and the host discards the pieces).
   */
  private restore (meta: SnapshotMeta): void {
    const { index, term } = meta
    if (this.log.matchTerm(index, term)) {
      this.log.commitTo(index)
      this.pieces = []
      this.piecesAbandoned = true
      return
    }
    this.log.restore(meta)
    this.snapshotIndex = index
    this.pendingSnapshot = meta
  }

  // ---------------------------------------------------------------- leader side

  private tickLeader (): void {
    this.electionElapsed++
    if (this.electionElapsed >= this.electionTicks) {
      this.electionElapsed = 0
      // Check-quorum: a leader that has not heard a quorum for an election timeout steps
      // down, so a partitioned leader stops serving reads and proposals.
      let active = 1
      for (const pr of this.progressList) {
        if (pr.id === this.id) continue
        if (pr.recentActive) active++
        pr.recentActive = false
      }
      if (active < this.quorum) {
        this.becomeFollower(this.term, undefined)
        return
      }
      this.leadTransferee = undefined
    }
    for (const pr of this.progressList) {
      if (pr.id === this.id) continue
      // Pipelined appends that get no answer for an election timeout were lost: re-probe.
      if (pr.state === 'replicate' && pr.inflights.count > 0) {
        if (++pr.ticksSinceAck >= this.electionTicks) {
          pr.becomeProbe(pr.match + 1)
          this.dirty = true
        }
      } else {
        pr.ticksSinceAck = 0
      }
    }
    if (++this.heartbeatElapsed >= this.heartbeatTicks) {
      this.heartbeatElapsed = 0
      for (const pr of this.progressList) {
        if (pr.id !== this.id) this.sendHeartbeat(pr, this.readOnly.seq)
      }
    }
  }

  private sendHeartbeat (pr: Progress, seq: number): void {
    const commit = Math.min(pr.match, this.log.commit)
    pr.snapAckedAtHeartbeat = pr.snapAcked
    const ahead = this.noticeCommit(pr)
    const aheadTerm = ahead > commit ? this.log.term(ahead) : -1
    if (aheadTerm < 0) {
      pr.sentCommit = commit
      this.send({ type: 'hb', from: this.id, to: pr.id, term: this.term, commit, seq })
      return
    }
    pr.sentCommit = ahead
    this.send({ type: 'hb', from: this.id, to: pr.id, term: this.term, commit, seq, ahead, aheadTerm })
  }

  /**
   * The commit index a notice to `pr` can carry: up to its match, or in replicate state up to
   * what was sent to it (the follower checks that it holds it, see `hb.ahead`). A follower whose
   * own write is slower than the quorum's then learns of the commit without waiting for the
   * round trip of its own acknowledgement: its host applies and answers sooner.
   */
  private noticeCommit (pr: Progress): number {
    return Math.min(this.log.commit, pr.state === 'replicate' ? pr.next - 1 : pr.match)
  }

  /** Builds this Ready's appends, snapshot chunks, commit notices and read rounds. */
  private flush (): void {
    if (!this.dirty && !this.readOnly.roundNeeded) return
    this.dirty = false
    const round = this.readOnly.roundNeeded
    const seq = round ? this.readOnly.startRound() : this.readOnly.seq
    for (const pr of this.progressList) {
      if (pr.id === this.id) continue
      this.sendAppends(pr)
      // Tell followers about a new commit promptly so their hosts apply (and answer) soon.
      if (round || pr.sentCommit < this.noticeCommit(pr)) this.sendHeartbeat(pr, seq)
    }
    if (round && this.voters.length === 1) this.releaseReads()
  }

  /** Sends as much as flow control allows to `pr`. */
  private sendAppends (pr: Progress): void {
    const log = this.log
    for (;;) {
      if (pr.state === 'snapshot') {
        this.sendSnapshotChunks(pr)
        return
      }
      if (pr.paused()) return
      const prev = pr.next - 1
      const prevTerm = log.term(prev)
      if (prevTerm < 0) {
        // The follower needs entries we compacted away; it stays in probe until the host has
        // a snapshot ready, and heartbeat answers bring it back here.
        const snap = this.snapshotToSend()
        if (snap === undefined) return
        pr.becomeSnapshot(snap)
        continue
      }
      const last = log.lastIndex()
      // In replicate state an empty append says nothing new; in probe it finds the match.
      if (pr.next > last && pr.state === 'replicate') return
      const { entries, bytes } = pr.next > last ? { entries: [], bytes: 0 } : log.sliceBytes(pr.next, this.maxBytesPerAppend)
      const m: AppMessage = { type: 'app', from: this.id, to: pr.id, term: this.term, index: prev, logTerm: prevTerm, entries, commit: log.commit }
      this.send(m)
      pr.sentCommit = log.commit
      if (pr.state === 'probe') {
        pr.probeSent = true
        return
      }
      const lastSent = prev + entries.length
      pr.next = lastSent + 1
      pr.inflights.add(lastSent, bytes)
    }
  }

  /**
   * A snapshot to stream: one already being streamed to another follower if it is still
   * recent enough (the entries after it are in the log), else the host's, if it has one ready.
   */
  private snapshotToSend (): OutgoingSnapshot | undefined {
    for (const other of this.progressList) {
      if (other.snap !== undefined && other.snap.meta.index >= this.log.snapIndex) return other.snap
    }
    assert(this.takeSnapshot !== undefined, 'a core whose log was compacted has a snapshot source')
    const snap = this.takeSnapshot(this.log.snapIndex)
    if (snap === undefined) return undefined
    assert(snap.meta.index <= this.applied, 'the host snapshots only what it has applied')
    assert(snap.meta.index >= this.log.snapIndex, 'a snapshot from the host is at least the compaction point')
    assert(snap.meta.term === this.log.term(snap.meta.index), 'snapshot term matches the log')
    return snap
  }

  private sendSnapshotChunks (pr: Progress): void {
    const snap = pr.snap
    assert(snap !== undefined, 'snapshot state has a snapshot')
    const total = snap.data.length
    const written = snap.written?.() ?? total
    assert(written <= total, 'a snapshot is written within its length')
    // Chunks are pipelined up to the in-flight byte limit (at least one chunk), so the link and
    // both hosts stay busy instead of waiting a round trip per chunk. A follower accepts chunks
    // only in order: after a loss it answers the rest with its offset, and the stall check on
    // heartbeat answers resumes from there. Bytes not yet written wait for snapshotWritten().
    const window = Math.max(this.snapshotChunkBytes, this.maxInflightBytes)
    while (!pr.snapDoneSent && pr.snapSent - pr.snapAcked < window) {
      const end = Math.min(written, pr.snapSent + this.snapshotChunkBytes)
      if (end === pr.snapSent && end < total) return
      const done = end === total
      // The bytes go last: a transport can then write them after the rest without a copy.
      this.send({
        type: 'snap', from: this.id, to: pr.id, term: this.term, meta: snap.meta,
        offset: pr.snapSent, totalBytes: total, done, data: snap.data.subarray(pr.snapSent, end),
      })
      pr.snapSent = end
      pr.snapDoneSent = done
    }
  }

  private onAppResp (m: AppRespMessage): void {
    const pr = this.mustProgress(m.from)
    pr.recentActive = true
    if (m.reject) {
      if (pr.state === 'snapshot') return
      if (m.index <= pr.match) {
        // A durable follower never loses what it acknowledged, so this is normally a stale
        // answer to a superseded append. A log now shorter than the match means the follower
        // lost it (in-memory storage, restarted under this same leader): start over from what
        // it holds. Lowering the match only makes commit counting more cautious.
        if (m.hintIndex < pr.match && m.hintIndex < this.log.lastIndex()) {
          pr.forgetTo(m.hintIndex)
          this.dirty = true
        }
        return
      }
      if (pr.state === 'probe' && m.index !== pr.next - 1) return
      if (pr.state === 'replicate' && m.index >= pr.next) return
      let next = m.index
      if (m.hintTerm >= 0) next = Math.min(next, this.log.findConflictByTerm(m.hintIndex, m.hintTerm) + 1)
      pr.becomeProbe(Math.max(next, pr.match + 1))
      this.dirty = true
      return
    }
    const grew = pr.ack(m.index)
    if (pr.state === 'probe' || (pr.state === 'snapshot' && pr.match >= (pr.snap?.meta.index ?? 0))) pr.becomeReplicate()
    if (grew) {
      this.maybeCommit()
      if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) this.sendTimeoutNow(m.from)
    }
    this.dirty = true
  }

  private onHeartbeatResp (m: HeartbeatRespMessage): void {
    const pr = this.mustProgress(m.from)
    pr.recentActive = true
    pr.probeSent = false
    if (pr.state !== 'snapshot' && m.lastIndex < pr.match) {
      // It holds less than it acknowledged: an in-memory peer restarted under this leader.
      // Without this, an idle leader would not notice until its next append.
      pr.forgetTo(m.lastIndex)
      this.dirty = true
    }
    if (pr.state === 'snapshot' && pr.snapAcked === pr.snapAckedAtHeartbeat && (pr.snapSent > pr.snapAcked || pr.snapDoneSent)) {
      // No chunk acknowledged for a heartbeat round: chunks were lost, or the follower lost
      // its partial copy (restart). Resume from where it last said it was.
      pr.snapAcked = pr.snapReported
      pr.snapSent = pr.snapReported
      pr.snapDoneSent = false
    }
    if (m.seq > pr.readSeq) {
      pr.readSeq = m.seq
      this.releaseReads()
    }
    if (pr.match < this.log.lastIndex() || pr.state !== 'replicate') this.dirty = true
  }

  private onSnapResp (m: SnapRespMessage): void {
    const pr = this.mustProgress(m.from)
    pr.recentActive = true
    if (pr.state !== 'snapshot' || m.index !== pr.snap?.meta.index) return
    // Answers may arrive reordered or duplicated: progress only moves forward here; a follower
    // that really went back (restart) is resumed by the stall check on heartbeat answers.
    pr.snapReported = m.offset
    if (m.offset > pr.snapAcked) {
      pr.snapAcked = m.offset
      if (pr.snapSent < m.offset) pr.snapSent = m.offset
      this.dirty = true
    }
  }

  private sendTimeoutNow (to: PeerId): void {
    this.send({ type: 'timeoutNow', from: this.id, to, term: this.term })
  }

  /** Advances commit to the highest own-term index a quorum holds durably. */
  private maybeCommit (): void {
    const index = this.quorumIndex()
    if (index <= this.log.commit || !this.commitTermOk(index)) return
    this.log.commitTo(index)
    this.dirty = true
    if (this.earlyReads.length > 0) {
      const early = this.earlyReads
      this.earlyReads = []
      for (const r of early) this.requestRead(r.ctx, r.from)
    }
  }

  /**
   * The highest index held durably by a quorum of voters (this leader's own durable log
   * included). (Protected so tests can plant a commit-without-quorum bug.)
   */
  protected quorumIndex (): number {
    const list = this.progressList
    for (let i = 0; i < list.length; i++) this.matchScratch[i] = list[i].match
    return quorumValue(this.matchScratch, this.valueScratch)
  }

  /**
   * Raft §5.4.2: a leader commits by counting replicas only entries of its own term.
   * (Protected so tests can plant the Figure 8 bug.)
   */
  protected commitTermOk (index: number): boolean {
    return this.log.term(index) === this.term
  }

  /** Queues a read for `from`, or parks it until this term's first commit (§6.4 step 1). */
  private requestRead (ctx: string, from: PeerId): boolean {
    if (this.log.term(this.log.commit) !== this.term) {
      if (this.earlyReads.length >= this.maxPendingReads) return false
      this.earlyReads.push({ ctx, from })
      return true
    }
    if (!this.readOnly.add(ctx, from, this.log.commit)) return false
    return true
  }

  /** Releases every read whose heartbeat round a quorum acknowledged. */
  private releaseReads (): void {
    const list = this.progressList
    for (let i = 0; i < list.length; i++) {
      this.matchScratch[i] = list[i].id === this.id ? this.readOnly.seq : list[i].readSeq
    }
    const confirmed = quorumValue(this.matchScratch, this.valueScratch)
    this.readOnly.release(confirmed, this.deliverRead)
  }

  private readonly deliverRead = (r: PendingRead): void => {
    if (r.from === this.id) this.readStates.push({ ctx: r.ctx, index: r.index })
    else this.send({ type: 'readIndexResp', from: this.id, to: r.from, term: this.term, ctx: r.ctx, index: r.index })
  }

  // ---------------------------------------------------------------- helpers

  private send (m: Message): void {
    this.outbox.push(m)
  }

  private mustProgress (id: PeerId): Progress {
    const pr = this.progress.get(id)
    assert(pr !== undefined, 'leader tracks every voter')
    return pr
  }

  private hardChanged (): boolean {
    const h = this.prevHard
    return h.term !== this.term || h.vote !== this.vote || h.commit !== this.log.commit
  }

  private softChanged (): boolean {
    const s = this.prevSoft
    return s.role !== this.role || s.term !== this.term || s.leaderId !== this.leaderId
  }

  private checkInvariants (): void {
    const log = this.log
    assert(log.commit <= log.lastIndex(), 'commit within the log')
    assert(this.applied <= log.commit, 'applied only what is committed')
    assert(log.persistedTo <= log.lastIndex(), 'persisted within the log')
    assert((this.role === 'leader') === (this.leaderId === this.id), 'a leader knows itself as leader')
    assert(this.role !== 'candidate' || this.vote === this.id, 'a candidate voted for itself')
    assert(this.lostLeader === undefined || this.leaderId === undefined, 'early campaigns only while no leader is known')
    if (!this.paranoid) return
    for (const pr of this.progressList) {
      assert(pr.match < pr.next, 'progress: match < next')
      assert(pr.match <= log.lastIndex(), 'progress: match within the log')
    }
    if (log.lastIndex() > log.snapIndex) {
      assert(log.term(log.snapIndex + 1) >= log.snapTerm, 'terms never go back after the snapshot')
    }
  }
}
