/**
 * The Peer: the only asynchronous glue in zkpeer. It owns the clock and the event loop, and
 * wires the consensus core, durable storage, the transport, the replicated state machine
 * (tree + session table), the watch registry and the public Sessions (DESIGN.md).
 *
 * The tree changes only by applying committed log entries, through one path for every write:
 * a session encodes a command → the leader stamps its time and appends it → storage makes it
 * durable → a quorum acknowledges → every peer applies it in log order → the origin resolves
 * the caller. Requests are re-sent after a leader change; the session table drops duplicates,
 * so a write is applied at most once.
 */
import { EventEmitter } from 'node:events'
import { assert } from './assert.js'
import { copyCommand, encodeCommand, isCommand, stampTime, type Command } from './commands.js'
import { RaftCore } from './consensus/core.js'
import { isLeaderMessage, type Message } from './consensus/messages.js'
import type { Entry, OutgoingSnapshot, Ready, ReadState, Snapshot, SoftState } from './consensus/types.js'
import { consoleLogger, type Env, type Logger } from './env.js'
import { ZkError } from './errors.js'
import { MemoryWarmer } from './memory-warmer.js'
import { parseEnvelope, type Envelope } from './peer-messages.js'
import { resolveOptions, type PeerOptions, type ResolvedOptions } from './peer-options.js'
import { Session, type SessionHost, type WriteRequest } from './session/session.js'
import { SnapshotReceiver, type SnapshotDecoding } from './snapshot-receiver.js'
import { type Applied, StateMachine } from './state-machine.js'
import { systemEnv } from './system-env.js'
import type { DataTree } from './tree/data-tree.js'
import type { EncodeProgress } from './tree/snapshot.js'
import type { WriteOp } from './tree/types.js'
import { catchUpWatches, WatchRegistry } from './watch/watch-registry.js'
import { startZkServer, type ZkServer } from './wire/zk-server.js'
import { FileStorage } from '../storage/file-storage.js'
import { LevelStorage } from '../storage/level.js'
import { VolatileStorage } from '../storage/volatile.js'
import type { SnapshotSource, Storage } from '../storage/storage.js'
import { transportForUrl } from '../transports/index.js'
import type { Transport } from '../transports/transport.js'

export type { PeerOptions } from './peer-options.js'

/** The identity the peer itself reads with when it needs a node's raw stat and ACL. */
const SUPER = [{ scheme: 'super', id: '' }]

/** A peer's public role (API.md). */
export type PeerRole = 'leader' | 'follower' | 'candidate' | 'observer'

/** Options of `peer.connect()`. */
export interface ConnectOptions {
  /** Requested session timeout, clamped to the peer's [minSessionTimeoutMs, maxSessionTimeoutMs]. */
  readonly sessionTimeoutMs?: number
  /** Identities to add at once, e.g. `[{ scheme: 'digest', credentials: 'user:password' }]`. */
  readonly auth?: ReadonlyArray<{ readonly scheme: string, readonly credentials: string }>
  /**
   * Attach to this existing session instead of opening a new one (with `password`): the session
   * moves to this peer with its ephemerals; its handle on the peer that held it ends with
   * `SESSIONMOVED`. A wrong password or a session that no longer lives fails `SESSIONEXPIRED`.
   */
  readonly sessionId?: bigint
  /** The session's password (`session.password`), with `sessionId`. */
  readonly password?: Uint8Array
}

/** `peer.status()`: the embedded equivalent of ZooKeeper's `mntr`. */
export interface PeerStatus {
  readonly id: string
  readonly role: PeerRole
  readonly leader: string | undefined
  readonly term: number
  /** The last applied zxid. */
  readonly zxid: number
  readonly commitIndex: number
  readonly lastIndex: number
  readonly znodes: number
  /** Live sessions in the ensemble. */
  readonly sessions: number
  /** Sessions opened on this peer and still open. */
  readonly localSessions: number
  readonly watches: number
  readonly pendingWrites: number
  /** Snapshots received from the leader and installed since start (catch-up far behind). */
  readonly snapshotsInstalled: number
  /** On the leader: each follower's replication progress and lag in entries. */
  readonly peers: Readonly<Record<string, { readonly match: number, readonly next: number, readonly lag: number }>>
}

/** One write waiting to be applied, kept for re-sending until it is. */
interface PendingWrite {
  readonly seq: number
  readonly data: Uint8Array
  readonly request: WriteRequest
  readonly deadline: number
  settled: boolean
  sentMs: number
}

/** Per local session: its Session object, next sequence number and unapplied writes in order. */
interface LocalSession {
  readonly session: Session
  /** The session's ownership epoch when it came to this peer (see SessionTable). */
  readonly epoch: number
  nextSeq: number
  readonly pending: PendingWrite[]
  /** When the queue was last re-sent because a later write arrived out of order (rate limit). */
  gapResentMs: number
  /** The close command, once close() was called; re-sent until applied. */
  closeData: Uint8Array | undefined
  readonly closers: Array<() => void>
}

/** A sync waiting for the leader's read index (`index` undefined) or for this peer to apply up to it. */
interface PendingRead {
  readonly resolve: () => void
  readonly reject: (e: ZkError) => void
  readonly deadline: number
  lastSentMs: number
  index: number | undefined
}

/** An open, or an attach (`timeoutMs` then comes from the session), waiting to be applied. */
interface PendingOpen {
  readonly data: Uint8Array
  readonly timeoutMs: number
  readonly resolve: (s: Session) => void
  readonly reject: (e: ZkError) => void
  readonly deadline: number
  lastSentMs: number
}

/**
 * A member of an ensemble, embedded in this process. Start one with {@link Peer.start}.
 * Emits `'role'` (new role) and `'leader'` (leader id or undefined).
 */
export class Peer extends EventEmitter {
  #role: PeerRole = 'follower'
  #leaderId: string | undefined
  #term = 0
  #stopped = false
  #stopping = false
  #failed = false
  #stopPromise: Promise<void> | undefined
  #driving = false
  #scheduled = false
  /** Writes issued by the Ready loop and not yet durable. */
  #writesInFlight = 0
  /** The last write the Ready loop issued: messages held for durability go after it. */
  #lastWrite: Promise<void> = Promise.resolve()
  #appliedTerm = 0
  #snapshotIndex = 0
  /** Entry bytes applied since the last local snapshot or compaction. */
  #logBytesSinceSnapshot = 0
  /** What {@link #logBytesSinceSnapshot} was when the core's in-memory log was last compacted. */
  #logBytesAtCompaction = 0
  /** Size of the last snapshot this peer encoded for its own storage (or recovered from it). */
  #lastSnapshotBytes = 0
  /** The commit index recovered from storage: the log up to it is replayed on start. */
  #recoveredCommit = 0
  /** A local snapshot encoded in the background, waiting for the Ready loop to store it. */
  #encodedLocal: { readonly snapshot: Snapshot, readonly sm: StateMachine } | undefined
  #encodingLocal = false
  /** A snapshot encoded for a follower (the core asked), until the core takes it. */
  #prepared: { readonly snapshot: OutgoingSnapshot, readonly drop: () => void } | undefined
  #preparing = false
  #ticks = 0
  #lastTickMs: number | undefined
  #snapshotsInstalled = 0
  /** Decodes a snapshot from the leader as its pieces arrive. */
  readonly #receiver: SnapshotReceiver
  readonly #voters: string[]
  readonly #local = new Map<bigint, LocalSession>()
  readonly #opens = new Map<string, PendingOpen>()
  /** Syncs by context; those that got their index wait in #readWaiters until applied. */
  readonly #reads = new Map<string, PendingRead>()
  readonly #readWaiters: PendingRead[] = []
  readonly #forwardQueue: Uint8Array[] = []
  /** Leader only: when each session was last heard from (monotonic ms). */
  readonly #lastHeard = new Map<bigint, number>()
  /** Leader only: sessions whose expiry and nodes whose reaping were proposed. */
  readonly #expiring = new Set<bigint>()
  readonly #reaping = new Set<string>()
  #readCounter = 0
  /** Makes read contexts unique across restarts, so a late answer to an earlier incarnation is ignored. */
  readonly #readPrefix: string
  #cancelTick: () => void = () => {}
  #transport: Transport | undefined
  #zkServer: ZkServer | undefined
  #drained: Promise<void> = Promise.resolve()
  /** What sessions use; `tree` is a plain field kept equal to `sm.tree` (a getter is not inlined on the read path). */
  readonly #host: SessionHost & { tree: DataTree }

  private constructor (
    private readonly opts: ResolvedOptions,
    private readonly env: Env,
    private readonly log: Logger,
    private readonly core: RaftCore,
    private readonly storage: Storage,
    private sm: StateMachine,
    superDigest: string | undefined,
  ) {
    super()
    this.#voters = Object.keys(opts.ensemble).sort()
    this.#readPrefix = `${opts.id}:${Buffer.from(env.random.bytes(6)).toString('hex')}`
    this.#snapshotIndex = sm.appliedIndex
    this.#receiver = new SnapshotReceiver(!this.#storesNoSnapshotBytes(), SNAPSHOT_DECODE_STEP_BYTES,
      () => new Promise<void>((resolve) => { env.clock.after(0, resolve) }), () => env.clock.monotonicMs(), (bytes) => openDecoder(bytes, log))
    const watches = new WatchRegistry()
    this.#host = {
      tree: sm.tree,
      watches,
      maxDataBytes: opts.maxDataBytes,
      log,
      superDigest,
      write: (session, ops, multi, request) => { this.#submitWrite(session, ops, multi, request) },
      sync: (timeoutMs) => this.#sync(timeoutMs),
      close: (session) => this.#closeSession(session),
    }
  }

  /**
   * Starts a peer: opens its storage (recovering its log), joins the ensemble, and begins
   * ticking. Resolves once started; use {@link ready} to wait for a leader.
   */
  static async start (options: PeerOptions): Promise<Peer> {
    const opts = resolveOptions(options)
    const log = options.log ?? consoleLogger(`zkpeer[${opts.id}]`)
    const env = options.env ?? systemEnv(log)
    // A VolatileStorage of our own can never be reopened, so it need not keep snapshot bytes.
    const storage = options.storage ??
      (options.dataDir !== undefined ? new FileStorage({ dir: options.dataDir, sync: opts.sync, log })
        : options.db !== undefined ? new LevelStorage({ db: options.db, sync: opts.sync, log })
          : new VolatileStorage({ keepSnapshots: false }))
    const t0 = env.clock.monotonicMs()
    const recovered = await storage.open()
    if (recovered.truncatedEntries > 0) log.warn('truncated a torn or corrupt log tail on start', { entries: recovered.truncatedEntries })
    const t1 = env.clock.monotonicMs()
    let sm: StateMachine
    try {
      sm = recovered.snapshotData === undefined ? new StateMachine() : await restoreFrom(recovered.snapshotData, log)
    } catch (err) {
      // A snapshot that fails its checksum as it is read: release the dataDir (and its lock).
      await storage.close()
      throw err
    }
    log.info('recovered from storage', {
      openMs: Math.round(t1 - t0),
      snapshotMs: Math.round(env.clock.monotonicMs() - t1),
      snapshotBytes: recovered.snapshotData?.bytes ?? 0,
      znodes: sm.tree.nodeCount,
      logEntries: recovered.entries.length,
    })
    let peer: Peer | undefined
    const core = new RaftCore({
      id: opts.id,
      voters: Object.keys(opts.ensemble),
      electionTicks: opts.electionTicks,
      heartbeatTicks: opts.heartbeatTicks,
      random: (min, max) => env.random.intInclusive(min, max),
      durable: recovered,
      compactRetainEntries: retainedEntries(opts),
      compactRetainBytes: RETAINED_LOG_BYTES,
      snapshotChunkBytes: SNAPSHOT_CHUNK_BYTES,
      takeSnapshot: (minIndex) => peer!.#takeSnapshot(minIndex),
    })
    peer = new Peer(opts, env, log, core, storage, sm, options.superDigest)
    peer.#appliedTerm = recovered.snapshot?.term ?? 0
    peer.#lastSnapshotBytes = recovered.snapshotData?.bytes ?? 0
    peer.#recoveredCommit = recovered.hardState.commit
    if (opts.listen !== undefined) {
      const factory = options.transport ?? transportForUrl(opts.listen)
      try {
        peer.#transport = await factory({
          id: opts.id,
          listen: opts.listen,
          peers: opts.ensemble,
          secret: options.secret,
          tls: options.tls,
          log,
        }, (from, message) => peer.#onMessage(from, message), (lost) => peer.#onPeerLost(lost))
      } catch (err) {
        // Release the database (and its lock) so the caller can retry with the same dataDir.
        await storage.close()
        throw err
      }
    }
    peer.#cancelTick = env.clock.every(opts.tickMs, () => peer.#onTick())
    peer.#schedule()
    if (options.zkListen !== undefined) {
      try {
        const settings = {
          ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
          tickTime: opts.tickMs,
          minSessionTimeout: opts.minSessionTimeoutMs,
          maxSessionTimeout: opts.maxSessionTimeoutMs,
          electionTimeout: opts.tickMs * opts.electionTicks,
        }
        peer.#zkServer = await startZkServer({ peer, listen: options.zkListen, ensembleSize: Object.keys(opts.ensemble).length, settings, log })
      } catch (err) {
        await peer.stop()
        throw err
      }
    }
    return peer
  }

  /** This peer's id. */
  get id (): string { return this.opts.id }
  /** This peer's current role. */
  get role (): PeerRole { return this.#role }
  /** The leader this peer knows of, if any. */
  get leaderId (): string | undefined { return this.#leaderId }
  /** The current consensus term. */
  get term (): number { return this.#term }
  /** Where this peer serves ZooKeeper's client protocol (option `zkListen`, port resolved), if it does. */
  get zkUrl (): string | undefined { return this.#zkServer?.url }
  /** The URL this peer listens on for peers (a requested port 0 resolved), if it listens. */
  get listenUrl (): string | undefined { return this.#transport?.listenUrl }

  /**
   * Resolves once a leader is known and this peer has applied the log up to the commit point
   * it learned from that leader. Rejects if the peer stops first.
   */
  async ready (): Promise<void> {
    while (this.#leaderId === undefined) {
      if (this.#stopped) throw new ZkError('CONNECTIONLOSS', 'the peer was stopped before it found a leader')
      await new Promise<void>((resolve) => {
        const done = (): void => { this.off('leader', done); this.off('stopped', done); resolve() }
        this.on('leader', done)
        this.on('stopped', done)
      })
    }
    await this.#sync()
  }

  /** Opens a session on this peer; resolves once the ensemble committed it. */
  async connect (options: ConnectOptions = {}): Promise<Session> {
    this.#checkRunning()
    if (options.sessionId !== undefined || options.password !== undefined) return this.#attach(options)
    const requested = options.sessionTimeoutMs ?? this.opts.sessionTimeoutMs
    if (typeof requested !== 'number' || !Number.isFinite(requested) || requested <= 0) {
      throw new ZkError('BADARGUMENTS', `sessionTimeoutMs must be a positive number, not ${String(requested)}`)
    }
    for (const a of options.auth ?? []) {
      if (a?.scheme !== 'digest' || typeof a.credentials !== 'string' || !a.credentials.includes(':')) {
        throw new ZkError('AUTHFAILED', `connect: auth entries must be { scheme: 'digest', credentials: 'user:password' }, not ${JSON.stringify(a)}`)
      }
    }
    const timeoutMs = Math.min(this.opts.maxSessionTimeoutMs, Math.max(this.opts.minSessionTimeoutMs, Math.round(requested)))
    const nonce = Buffer.from(this.env.random.bytes(12)).toString('hex')
    const password = this.env.random.bytes(16)
    const session = await this.#await(nonce, encodeCommand({ t: 'open', origin: this.id, nonce, timeoutMs, password }), timeoutMs)
    for (const a of options.auth ?? []) await session.addAuth(a.scheme, a.credentials)
    return session
  }

  async #attach (options: ConnectOptions): Promise<Session> {
    const { sessionId, password } = options
    if (typeof sessionId !== 'bigint' || sessionId <= 0n || !(password instanceof Uint8Array)) {
      throw new ZkError('BADARGUMENTS', 'connect: to attach to a session give both sessionId (a bigint) and password (its Uint8Array)')
    }
    const nonce = Buffer.from(this.env.random.bytes(12)).toString('hex')
    const data = encodeCommand({ t: 'attach', sid: sessionId.toString(), origin: this.id, nonce, password })
    const session = await this.#await(nonce, data, this.sm.sessions.get(sessionId)?.timeoutMs ?? this.opts.sessionTimeoutMs)
    for (const a of options.auth ?? []) await session.addAuth(a.scheme, a.credentials)
    return session
  }

  /** Proposes an open or attach and resolves with the session once it is applied here. */
  #await (nonce: string, data: Uint8Array, timeoutMs: number): Promise<Session> {
    return new Promise<Session>((resolve, reject) => {
      const now = this.env.clock.monotonicMs()
      this.#opens.set(nonce, { data, timeoutMs, resolve, reject, deadline: now + Math.max(timeoutMs, this.#electionTimeoutMs() * 4), lastSentMs: now })
      this.#propose(data)
    })
  }

  /** A plain snapshot of this peer's state (role, leader, term, zxid, counts, peer lag). */
  status (): PeerStatus {
    const core = this.core.status()
    const peers: Record<string, { match: number, next: number, lag: number }> = {}
    for (const [id, p] of Object.entries(core.progress)) peers[id] = { match: p.match, next: p.next, lag: p.lagEntries }
    let pendingWrites = 0
    for (const l of this.#local.values()) pendingWrites += l.pending.length
    return {
      id: this.id,
      role: this.#role,
      leader: this.#leaderId,
      term: this.#term,
      zxid: this.sm.appliedIndex,
      commitIndex: core.commit,
      lastIndex: core.lastIndex,
      znodes: this.sm.tree.nodeCount,
      sessions: this.sm.sessions.size,
      localSessions: this.#local.size,
      watches: this.#host.watches.size,
      pendingWrites,
      snapshotsInstalled: this.#snapshotsInstalled,
      peers,
    }
  }

  /**
   * Stops this peer. A leader first hands leadership to an up-to-date follower (bounded by an
   * election timeout). Sessions opened here end locally (`closed`); in the ensemble they expire
   * after their timeout unless closed first. Idempotent.
   */
  stop (): Promise<void> {
    this.#stopPromise ??= this.#stop()
    return this.#stopPromise
  }

  async #stop (): Promise<void> {
    // ZooKeeper clients go first; as from a stopping ZooKeeper server, they take their
    // sessions to other peers (or the sessions expire after their timeout).
    await this.#zkServer?.stop({ keepSessions: true })
    this.#stopping = true
    const lost = (what: string): ZkError => new ZkError('CONNECTIONLOSS', `peer ${this.id} stopped ${what}`)
    // Sessions end first, so nothing built on them (a leader election, a lock) acts on the
    // brief leader change that the hand-off below causes.
    for (const l of this.#local.values()) {
      for (const p of l.pending) if (!p.settled) p.request.failed(lost('before the write was applied; it may or may not have been'))
      for (const c of l.closers) c()
      l.session.end('closed')
    }
    this.#local.clear()
    for (const o of this.#opens.values()) o.reject(lost('before the session was opened'))
    this.#opens.clear()
    for (const r of [...this.#reads.values(), ...this.#readWaiters]) r.reject(lost('before sync completed'))
    this.#reads.clear()
    this.#readWaiters.length = 0
    if (this.#role === 'leader' && this.#voters.length > 1) await this.#handOffLeadership()
    this.#stopped = true
    this.#cancelTick()
    this.#prepared?.drop()
    this.#prepared = undefined
    this.emit('stopped')
    await this.#drained
    // A snapshot half received is dropped, with the thread warming its memory, if any.
    this.#receiver.discard()
    await this.#transport?.stop()
    await this.storage.close()
  }

  // ── the event loop ────────────────────────────────────────────────────────────────────────

  #onTick (): void {
    if (this.#stopped) return
    this.#ticks++
    this.core.tick()
    const now = this.env.clock.monotonicMs()
    const late = this.#lastTickMs === undefined ? 0 : now - this.#lastTickMs - this.opts.tickMs
    this.#lastTickMs = now
    if (late > this.opts.tickMs) {
      // This process stalled (a large snapshot, a long GC, a paused process). Heartbeats that
      // arrived meanwhile are still unread, since timers run before sockets are read: do not
      // count the stall as the sessions' silence.
      for (const [id, heard] of this.#lastHeard) this.#lastHeard.set(id, heard + late)
    }
    if (this.#role === 'leader') this.#leaderDuties(now)
    else if (this.#ticks % this.#touchEveryTicks() === 0) this.#sendTouches()
    this.#retryPending(now)
    this.#schedule()
  }

  #onMessage (from: string, message: unknown): void {
    if (this.#stopped) return
    const envelope = parseEnvelope(message)
    if (envelope === undefined || !(from in this.opts.ensemble)) {
      this.log.warn('dropped a malformed message', { from })
      return
    }
    this.#handleEnvelope(from, envelope)
    this.#schedule()
  }

  /**
   * The transport lost its connection with `id` (closed by the other side): if that was the
   * leader, the core campaigns now rather than after an election timeout (see
   * `RaftCore.peerDisconnected`), which is most of a kill -9's fail-over time.
   */
  #onPeerLost (id: string): void {
    if (this.#stopped || !(id in this.opts.ensemble)) return
    this.core.peerDisconnected(id)
    this.#schedule()
  }

  #handleEnvelope (from: string, envelope: Envelope): void {
    switch (envelope.k) {
      case 'raft':
        if (envelope.m.from !== from || envelope.m.to !== this.id) {
          this.log.warn('dropped a consensus message with a wrong sender or recipient', { from, claimed: envelope.m.from, to: envelope.m.to })
          return
        }
        this.core.step(envelope.m)
        return
      case 'fwd':
        // Only the leader appends; a stale forward is dropped and its origin re-sends.
        if (this.#role !== 'leader') return
        for (const d of envelope.d) {
          // A command that does not decode would fail on every peer once committed: refuse it here.
          if (isCommand(d)) this.#appendAsLeader(d)
          else this.log.warn('dropped a forwarded proposal that is not a valid command', { from, bytes: d.length })
        }
        return
      case 'touch':
        if (this.#role === 'leader') {
          const now = this.env.clock.monotonicMs()
          for (const s of envelope.s) {
            const id = BigInt(s)
            if (this.sm.sessions.get(id) !== undefined) this.#lastHeard.set(id, now)
          }
        }
    }
  }

  #schedule (): void {
    if (this.#scheduled || this.#stopped) return
    this.#scheduled = true
    queueMicrotask(() => {
      this.#scheduled = false
      if (this.#driving) return
      this.#drained = this.#drive().catch((err: unknown) => this.#fail(err))
    })
  }

  /**
   * Processes Ready batches, one at a time, in the order the core's contract requires. Writes
   * are issued and not awaited (see the Ready contract's asynchronous writes): while the disk
   * syncs one batch, later Readies are taken, their committed entries applied and their writes
   * queued for the next batch, so the disk is kept busy. A Ready carrying a snapshot is the
   * exception: it is made durable and installed before anything after it.
   */
  async #drive (): Promise<void> {
    this.#driving = true
    try {
      this.#flushForwards()
      while (!this.#stopped && this.core.hasReady()) {
        const rd: Ready = this.core.ready()
        if (rd.softState !== undefined) this.#onSoftState(rd.softState)
        // Replication goes out first, so followers write while this peer writes (see Ready).
        const messages = rd.messages as readonly Message[]
        const held: Message[] = []
        for (const m of messages) {
          if (isLeaderMessage(m)) this.#send(m.to, { k: 'raft', m })
          else held.push(m)
        }
        // Decoded before the acknowledgements in `held` go: the leader's window of chunks in
        // flight then paces the transfer to this decoding instead of piling chunks up here.
        if (rd.snapshotAbandoned) this.#receiver.discard()
        if (rd.snapshotPieces.length > 0) await this.#receiver.take(rd.snapshotPieces)
        if (rd.snapshot !== undefined) {
          const received = this.#receiver.finish(rd.snapshot)
          await this.storage.write({ snapshot: { meta: rd.snapshot, data: received.data }, hardState: rd.hardState, entries: rd.entries })
          this.#installSnapshot(received.sm, rd.snapshot.term, received.bytes, received.ms)
          this.#sendHeld(held)
        } else if (rd.hardState !== undefined || rd.entries.length > 0) {
          this.#issueWrite(rd, held)
        } else if (this.#writesInFlight > 0) {
          // They may depend on what a write still in flight makes durable (a repeated vote or
          // acknowledgement): they go when it is.
          this.#lastWrite.then(() => this.#sendHeld(held), () => {})
        } else {
          this.#sendHeld(held)
        }
        for (const e of rd.committed) this.#apply(e)
        for (const rs of rd.readStates) this.#onReadState(rs)
        this.#releaseReadWaiters()
        this.core.advance(rd, { durable: rd.snapshot !== undefined })
        await this.#maybeSnapshot()
        this.#flushForwards()
      }
    } finally {
      this.#driving = false
    }
    if (!this.#stopped && (this.core.hasReady() || this.#forwardQueue.length > 0)) this.#schedule()
  }

  /**
   * Issues `rd`'s write without waiting for it; once it is durable (storage resolves writes in
   * order, so every earlier one is too), sends the messages that depend on it and tells the core.
   */
  #issueWrite (rd: Ready, held: readonly Message[]): void {
    this.#writesInFlight++
    const write = this.storage.write({ hardState: rd.hardState, entries: rd.entries })
    this.#lastWrite = write
    write.then(() => {
      this.#writesInFlight--
      if (this.#stopped) return
      this.#sendHeld(held)
      this.core.persisted(rd)
      this.#schedule()
    }, (err: unknown) => this.#fail(err))
  }

  #sendHeld (held: readonly Message[]): void {
    if (this.#stopped) return
    for (const m of held) this.#send(m.to, { k: 'raft', m })
  }

  #fail (err: unknown): void {
    // A failed storage fails every write queued after it too: one report is enough.
    if (this.#failed) return
    this.#failed = true
    this.log.error('peer failed and stops: storage or consensus error', { error: err instanceof Error ? err.stack ?? err.message : String(err) })
    this.stop().catch((e: unknown) => this.log.error('stopping after a failure failed too', { error: String(e) }))
  }

  #onSoftState (soft: SoftState): void {
    const role: PeerRole = soft.role === 'precandidate' ? 'candidate' : soft.role
    const wasLeader = this.#role === 'leader'
    this.#term = soft.term
    if (role !== this.#role) {
      this.#role = role
      if (role === 'leader') this.#becomeLeader()
      this.#emitSafely('role', role)
    }
    if (wasLeader && role !== 'leader') {
      this.#lastHeard.clear()
      this.#expiring.clear()
      this.#reaping.clear()
    }
    if (soft.leaderId !== this.#leaderId) {
      this.#leaderId = soft.leaderId
      for (const l of this.#local.values()) l.session.setConnectivity(soft.leaderId === undefined ? 'suspended' : 'connected')
      this.#emitSafely('leader', soft.leaderId)
      // A new leader may not have what the old one was sent: re-send everything unapplied.
      if (soft.leaderId !== undefined) this.#resendAll()
    }
  }

  /** Emits to host listeners; one that throws is logged, never allowed to stop the peer. */
  #emitSafely (event: string, value: unknown): void {
    try {
      this.emit(event, value)
    } catch (err) {
      this.log.warn(`a '${event}' listener threw`, { error: String(err) })
    }
  }

  #becomeLeader (): void {
    // Like ZooKeeper, a new leader gives every session a fresh full timeout.
    const now = this.env.clock.monotonicMs()
    for (const s of this.sm.sessions.all()) this.#lastHeard.set(s.id, now)
  }

  // ── applying committed entries ────────────────────────────────────────────────────────────

  #apply (entry: Entry): void {
    if (entry.index <= this.sm.appliedIndex) return
    const applied = this.sm.apply(entry)
    this.#appliedTerm = entry.term
    this.#logBytesSinceSnapshot += entry.data.length
    this.#dispatch(applied)
  }

  #dispatch (applied: Applied): void {
    const zxid = this.sm.appliedIndex
    switch (applied.t) {
      case 'noop':
        return
      case 'open': {
        if (this.#role === 'leader') this.#lastHeard.set(applied.sessionId, this.env.clock.monotonicMs())
        if (applied.origin !== this.id || this.#stopping) return
        const open = this.#opens.get(applied.nonce)
        if (open === undefined) return
        this.#opens.delete(applied.nonce)
        // A re-sent open whose first copy this peer missed, for a session that moved on since.
        if (this.sm.sessions.get(applied.sessionId)?.owner !== this.id || this.#local.has(applied.sessionId)) {
          open.reject(new ZkError('SESSIONMOVED', `session 0x${applied.sessionId.toString(16)} was opened and then attached elsewhere`))
          return
        }
        open.resolve(this.#adopt(applied.sessionId))
        return
      }
      case 'attach': {
        if (applied.verdict === 'refused') {
          if (applied.origin !== this.id) return
          const open = this.#opens.get(applied.nonce)
          this.#opens.delete(applied.nonce)
          open?.reject(new ZkError('SESSIONEXPIRED', `session 0x${applied.sessionId.toString(16)} has expired, or the password is wrong`))
          return
        }
        if (applied.verdict === 'attached') {
          if (this.#role === 'leader') this.#lastHeard.set(applied.sessionId, this.env.clock.monotonicMs())
          const left = this.#local.get(applied.sessionId)
          if (left !== undefined) this.#endLocal(left, 'closed', true)
        }
        if (applied.origin !== this.id || this.#stopping) return
        // A re-sent attach whose first copy this peer missed (it caught up by snapshot) settles it too.
        const open = this.#opens.get(applied.nonce)
        if (open === undefined || this.#local.has(applied.sessionId)) return
        this.#opens.delete(applied.nonce)
        open.resolve(this.#adopt(applied.sessionId))
        return
      }
      case 'close': {
        // A close its former owner sent before the session moved: the session lives on.
        if (!applied.wasLive && this.sm.sessions.get(applied.sessionId) !== undefined) return
        for (const c of applied.changes) this.#host.watches.trigger(c, zxid)
        this.#lastHeard.delete(applied.sessionId)
        this.#expiring.delete(applied.sessionId)
        const local = this.#local.get(applied.sessionId)
        if (local === undefined) return
        this.#local.delete(applied.sessionId)
        const expired = applied.expired || local.closers.length === 0
        for (const p of local.pending) {
          if (!p.settled) p.request.failed(new ZkError('SESSIONEXPIRED', `session 0x${applied.sessionId.toString(16)} ${expired ? 'expired' : 'was closed'} before this write was applied`))
        }
        for (const c of local.closers) c()
        local.session.end(expired ? 'expired' : 'closed')
        return
      }
      case 'write': {
        if (applied.result?.ok === true) for (const c of applied.result.changes) this.#host.watches.trigger(c, zxid)
        const local = this.#local.get(applied.sessionId)
        if (local === undefined) return
        if (applied.verdict === 'unknown-session') {
          this.#endLocal(local, 'expired')
          return
        }
        if (applied.verdict === 'gap') {
          // An earlier write of this session was lost on the way (a dropped connection, a
          // leader change): send the queue again now rather than after a quiet period.
          const now = this.env.clock.monotonicMs()
          if (now - local.gapResentMs >= this.opts.tickMs) {
            local.gapResentMs = now
            this.#resend(local, now)
          }
          return
        }
        if (applied.verdict !== 'apply') return
        const p = takePending(local.pending, applied.seq)
        if (p === undefined) return
        assert(applied.result !== undefined, 'an applied write has a result')
        if (!p.settled) p.request.applied(applied.result)
        return
      }
      case 'reap':
        if (applied.result.ok) for (const c of applied.result.changes) this.#host.watches.trigger(c, zxid)
        this.#reaping.delete(applied.path)
    }
  }

  /** Makes the session (open in the table, owned by this peer) a local one and returns its handle. */
  #adopt (sessionId: bigint): Session {
    const record = this.sm.sessions.get(sessionId)
    assert(record !== undefined && record.owner === this.id, 'an adopted session is live and owned here')
    const session = new Session(sessionId, record.timeoutMs, record.password, this.#host)
    this.#local.set(sessionId, { session, epoch: record.epoch, nextSeq: record.nextSeq, pending: [], gapResentMs: 0, closeData: undefined, closers: [] })
    if (this.#leaderId === undefined) session.setConnectivity('suspended')
    return session
  }

  /** Ends a local session: it expired or closed, or (`moved`) its client attached to it on another handle. */
  #endLocal (local: LocalSession, state: 'expired' | 'closed', moved = false): void {
    this.#local.delete(local.session.sessionId)
    const id = `session 0x${local.session.sessionId.toString(16)}`
    for (const p of local.pending) {
      if (!p.settled) p.request.failed(moved ? new ZkError('SESSIONMOVED', `${id} was attached elsewhere before this write was applied; it was not applied`) : new ZkError('SESSIONEXPIRED', `${id} has expired`))
    }
    for (const c of local.closers) c()
    local.session.end(state, moved)
  }

  /**
   * Replaces the state machine with `sm`, decoded from a snapshot of `bytes` received from the
   * leader (in `ms` since its first piece, the transfer included).
   */
  #installSnapshot (sm: StateMachine, term: number, bytes: number, ms: number): void {
    const since = this.sm.appliedIndex
    this.sm = sm
    this.#host.tree = this.sm.tree
    this.#logBytesSinceSnapshot = 0
    this.#logBytesAtCompaction = 0
    // The changes in between were never applied one by one: tell watches what they missed
    // before any pending write of theirs settles below.
    const tree = this.sm.tree
    catchUpWatches(this.#host.watches, since, this.sm.appliedIndex, (path) => {
      const stat = tree.exists(path, SUPER)
      return stat === null ? undefined : { stat, acl: tree.getACL(path, SUPER).acl }
    })
    this.#snapshotsInstalled++
    this.#appliedTerm = term
    this.#snapshotIndex = this.sm.appliedIndex
    // Writes covered by the snapshot were applied, but their results are not in it.
    for (const local of [...this.#local.values()]) {
      const record = this.sm.sessions.get(local.session.sessionId)
      if (record === undefined) {
        this.#endLocal(local, 'expired')
        continue
      }
      if (record.epoch !== local.epoch) {
        this.#endLocal(local, 'closed', true)
        continue
      }
      local.nextSeq = Math.max(local.nextSeq, record.nextSeq)
      for (const p of local.pending.filter((q) => q.seq < record.nextSeq)) {
        if (!p.settled) p.request.failed(new ZkError('CONNECTIONLOSS', 'this peer caught up by snapshot; the write was applied but its result is unknown'))
      }
      local.pending.splice(0, local.pending.length, ...local.pending.filter((q) => q.seq >= record.nextSeq))
    }
    this.log.info('installed a snapshot from the leader', { index: this.sm.appliedIndex, bytes, ms: Math.round(ms) })
  }

  /**
   * Snapshots when the log since the last snapshot is long enough: by entries, grown with the
   * tree, so snapshots cost about two znodes per entry (half the tree, not all of it: under
   * creates alone the tree grows as fast as the log, and a full tree's worth of entries since
   * the last snapshot would never come) — or by bytes, since a few big entries (multis) would
   * otherwise pile up in memory and in the replay of a restart. A storage that keeps no snapshot
   * bytes is compacted without encoding the tree at all, so for it both limits are low.
   */
  async #maybeSnapshot (): Promise<void> {
    const encoded = this.#encodedLocal
    if (encoded !== undefined) {
      this.#encodedLocal = undefined
      // A snapshot installed from the leader meanwhile supersedes it.
      if (encoded.sm === this.sm) {
        const retained = this.core.compact(encoded.snapshot.meta)
        await this.storage.compact(encoded.snapshot, retained)
      }
    }
    const since = this.sm.appliedIndex - this.#snapshotIndex
    if (since === 0) return
    // Our own VolatileStorage (nothing can reopen it) keeps no snapshot bytes: no cost to amortize.
    const volatile = this.#storesNoSnapshotBytes() ? this.storage as VolatileStorage : undefined
    const meta = { index: this.sm.appliedIndex, term: this.#appliedTerm, voters: this.#voters }
    // The core's in-memory log need not wait for a stored snapshot: a follower that needs what
    // it forgot gets a snapshot encoded on demand (#takeSnapshot), and the storage keeps its own
    // entries until its snapshot. Otherwise up to a stored snapshot's size of entries (some
    // 200 B per znode of a bulk load) would sit in memory beside the tree they built.
    if (volatile === undefined && this.#logBytesSinceSnapshot - this.#logBytesAtCompaction >= MEMORY_LOG_BYTES) {
      this.#logBytesAtCompaction = this.#logBytesSinceSnapshot
      this.core.compact(meta)
    }
    // Not while replaying the recovered log on start: encoding would compete with the replay,
    // and the peer is not serving until it is done.
    if (this.#encodingLocal || this.sm.appliedIndex < this.#recoveredCommit) return
    // A restart decodes the stored snapshot, then replays the log since: taken once that log
    // has grown to an eighth of the last snapshot's size (at least DURABLE_SNAPSHOT_LOG_BYTES),
    // the replay costs at most about an eighth of the decoding — some 0.1 s per 100,000 znodes
    // the tree holds — at the price of writing the snapshot's bytes about eight times per log byte.
    const due = volatile !== undefined
      ? since >= this.opts.snapshotEntries || this.#logBytesSinceSnapshot >= MEMORY_LOG_BYTES
      : since >= Math.max(this.opts.snapshotEntries, this.sm.tree.nodeCount / 2) ||
        this.#logBytesSinceSnapshot >= Math.max(DURABLE_SNAPSHOT_LOG_BYTES, this.#lastSnapshotBytes / SNAPSHOT_BYTES_PER_LOG_BYTE)
    if (!due) return
    this.#snapshotIndex = meta.index
    this.#logBytesSinceSnapshot = 0
    this.#logBytesAtCompaction = 0
    if (volatile !== undefined) {
      volatile.compactLog(meta, this.core.compact(meta))
      return
    }
    // Encoded in the background from a view of the state as of now, so that this loop keeps
    // sending heartbeats and applying meanwhile; a later turn stores it (above).
    const sm = this.sm
    this.#encodingLocal = true
    this.#encodeBreathing(sm, 'local snapshot').then((data) => {
      this.#encodingLocal = false
      if (data === undefined) return
      this.#lastSnapshotBytes = data.length
      this.#encodedLocal = { snapshot: { meta, data }, sm }
    }, (err: unknown) => this.#fail(err))
  }

  /** True for our own VolatileStorage, which nothing can reopen: it is given no snapshot bytes. */
  #storesNoSnapshotBytes (): boolean {
    return this.storage instanceof VolatileStorage && !this.storage.keepsSnapshots
  }

  /**
   * The core's snapshot source (a follower needs entries the log no longer has): a snapshot
   * encoded for it at an index of at least `minIndex`, once one is ready; until then, starts
   * encoding one in the background from the state as of now and answers undefined. One is ready
   * as soon as its size is known: the core sends its bytes as they are written (the first
   * ones go while the rest is encoded), told of each step by `snapshotWritten`. The core holds
   * the bytes only while streaming them; one not taken soon is dropped.
   */
  #takeSnapshot (minIndex: number): OutgoingSnapshot | undefined {
    const prepared = this.#prepared
    this.#prepared = undefined
    prepared?.drop()
    if (prepared !== undefined && prepared.snapshot.meta.index >= minIndex) return prepared.snapshot
    if (this.#preparing) return undefined
    this.#preparing = true
    const sm = this.sm
    const meta = { index: sm.appliedIndex, term: this.#appliedTerm, voters: this.#voters }
    let written = 0
    let snapshot: OutgoingSnapshot | undefined
    const offer = (data: Uint8Array): void => {
      snapshot = { meta, data, written: () => written }
      const offered = snapshot
      const drop = this.env.clock.after(PREPARED_SNAPSHOT_TTL_MS, () => {
        if (this.#prepared?.snapshot === offered) this.#prepared = undefined
      })
      this.#prepared = { snapshot: offered, drop }
    }
    const grew = (): void => {
      if (this.#stopped || sm !== this.sm) return
      this.core.snapshotWritten()
      this.#schedule()
    }
    this.#encodeBreathing(sm, 'snapshot for a follower', (progress) => {
      written = progress.written
      if (snapshot === undefined) offer(progress.output)
      grew()
    }).then((data) => {
      this.#preparing = false
      if (data === undefined) return
      written = data.length
      if (snapshot === undefined) offer(data)
      grew()
    }, (err: unknown) => this.#fail(err))
    return undefined
  }

  /**
   * Encodes `sm` as it is now, in steps with a turn of the event loop between them, telling
   * `onProgress` how far the output is written after each step once it is sized; undefined if
   * the peer stopped meanwhile.
   */
  async #encodeBreathing (sm: StateMachine, what: string, onProgress?: (progress: EncodeProgress) => void): Promise<Uint8Array | undefined> {
    const t0 = this.env.clock.monotonicMs()
    const index = sm.appliedIndex
    // A large tree's output is fresh memory: warmed by another thread (see MemoryWarmer).
    const warmer = sm.tree.nodeCount >= WARMED_SNAPSHOT_NODES ? MemoryWarmer.start(this.log) : undefined
    const steps = sm.snapshotSteps(SNAPSHOT_NODES_PER_STEP, warmer?.allocate)
    try {
      for (;;) {
        if (this.#stopped) return undefined
        const r = steps.next()
        if (r.done === true) {
          this.log.info(`encoded a ${what}`, { index, bytes: r.value.length, ms: Math.round(this.env.clock.monotonicMs() - t0) })
          return r.value
        }
        if (r.value !== undefined) onProgress?.(r.value)
        await new Promise<void>((resolve) => { this.env.clock.after(0, resolve) })
      }
    } finally {
      // Ends the steps if the peer stopped: the tree stops saving nodes for their view.
      steps.return(EMPTY_SNAPSHOT)
      void warmer?.stop()
    }
  }

  // ── proposing ─────────────────────────────────────────────────────────────────────────────

  #submitWrite (session: Session, ops: readonly WriteOp[], multi: boolean, request: WriteRequest): void {
    const local = this.#local.get(session.sessionId)
    if (this.#stopped || local === undefined) {
      request.failed(new ZkError('SESSIONEXPIRED', `session 0x${session.sessionId.toString(16)} is not open on peer ${this.id}`))
      return
    }
    const seq = local.nextSeq
    // Encoded before the sequence number is used up: a write that cannot be encoded must not
    // leave a gap that every later write of the session would wait behind.
    const data = encodeCommand({ t: 'write', sid: session.sessionId, seq, auth: session.authIds, ops, multi })
    if (data.length > this.#maxRequestBytes()) {
      request.failed(new ZkError('BADARGUMENTS', `the request is ${data.length} bytes, over the ${this.#maxRequestBytes()}-byte limit: split the multi`))
      return
    }
    local.nextSeq++
    const now = this.env.clock.monotonicMs()
    local.pending.push({ seq, data, request, deadline: now + session.timeoutMs, settled: false, sentMs: now })
    this.#propose(data, true)
  }

  /** ZooKeeper's jute.maxbuffer idea: one request carries at most the data limit plus headroom for paths and ACLs. */
  #maxRequestBytes (): number {
    return this.opts.maxDataBytes + 64 * 1024
  }

  #closeSession (session: Session): Promise<void> {
    const local = this.#local.get(session.sessionId)
    if (local === undefined) return Promise.resolve()
    const data = encodeCommand({ t: 'close', sid: session.sessionId.toString(), expired: false, epoch: local.epoch })
    local.closeData = data
    return new Promise<void>((resolve) => {
      // If the ensemble cannot be reached, give up after the session timeout: it expires there.
      const cancel = this.env.clock.after(session.timeoutMs, () => {
        if (this.#local.get(session.sessionId) === local) this.#endLocal(local, 'closed')
      })
      local.closers.push(() => { cancel(); resolve() })
      this.#propose(data)
    })
  }

  #sync (timeoutMs = this.opts.maxSessionTimeoutMs): Promise<void> {
    this.#checkRunning()
    const ctx = `${this.#readPrefix}:${++this.#readCounter}`
    return new Promise<void>((resolve, reject) => {
      const now = this.env.clock.monotonicMs()
      this.#reads.set(ctx, { resolve, reject, deadline: now + timeoutMs, lastSentMs: now, index: undefined })
      this.core.readIndex(ctx)
      this.#schedule()
    })
  }

  #onReadState (rs: ReadState): void {
    const read = this.#reads.get(rs.ctx)
    if (read === undefined) return
    this.#reads.delete(rs.ctx)
    read.index = rs.index
    this.#readWaiters.push(read)
  }

  /** Resolves waiting syncs this peer has applied far enough for, and times out those past their deadline. */
  #releaseReadWaiters (now?: number): void {
    if (this.#readWaiters.length === 0) return
    const applied = this.sm.appliedIndex
    let kept = 0
    for (const w of this.#readWaiters) {
      if ((w.index ?? Infinity) <= applied) w.resolve()
      else if (now !== undefined && now >= w.deadline) w.reject(new ZkError('CONNECTIONLOSS', 'sync did not complete: this peer did not catch up to the read index in time'))
      else this.#readWaiters[kept++] = w
    }
    this.#readWaiters.length = kept
  }

  /**
   * Sends a command toward the leader: appended here if we lead, else forwarded (batched).
   * Returns false when it went nowhere (no leader known, or the core refused it); the caller's
   * retry timer sends it again.
   */
  #propose (data: Uint8Array, fresh = false): boolean {
    if (this.#stopped) return false
    let handed = false
    if (this.#role === 'leader') handed = this.#appendAsLeader(data, fresh)
    else if (this.#leaderId !== undefined) {
      this.#forwardQueue.push(data)
      handed = true
    }
    this.#schedule()
    return handed
  }

  /**
   * Stamps the leader's time into a command and appends it. A command this peer just encoded
   * (`fresh`) is stamped in place: nothing else holds it yet, and once appended it is never
   * stamped again, since every re-send takes the copying path. Forwarded and re-sent commands are
   * copied first — a real copy (Buffer#slice would share memory): an appended entry must never
   * change, and a forwarded one must not pin the network frame it came in.
   */
  #appendAsLeader (data: Uint8Array, fresh = false): boolean {
    const stamped = fresh ? data : copyCommand(data)
    // Never earlier than the last applied transaction: znode times do not go backwards when
    // leadership moves to a peer whose clock is behind, or the clock steps back.
    stampTime(stamped, Math.max(this.env.clock.nowMs(), this.sm.lastTimeMs))
    return this.core.propose(stamped)
  }


  #flushForwards (): void {
    if (this.#forwardQueue.length === 0) return
    const leader = this.#leaderId
    if (leader !== undefined && leader !== this.id) this.#send(leader, { k: 'fwd', d: this.#forwardQueue.slice() })
    this.#forwardQueue.length = 0
  }

  #send (to: string, envelope: Envelope): void {
    this.#transport?.send(to, envelope)
  }

  /** Sends a session's unapplied writes again, in order, and its close if it is closing. */
  #resend (local: LocalSession, now: number): void {
    for (const p of local.pending) {
      p.sentMs = now
      this.#propose(p.data)
    }
    if (local.closeData !== undefined) this.#propose(local.closeData)
  }

  #resendAll (): void {
    const now = this.env.clock.monotonicMs()
    for (const local of this.#local.values()) this.#resend(local, now)
    for (const o of this.#opens.values()) {
      this.#propose(o.data)
      o.lastSentMs = now
    }
    for (const [ctx, r] of this.#reads) {
      this.core.readIndex(ctx)
      r.lastSentMs = now
    }
  }

  /** Times out callers past their deadline, and re-sends what has waited too long. */
  #retryPending (now: number): void {
    const resendAfter = this.#electionTimeoutMs() * 2
    for (const local of this.#local.values()) {
      for (const p of local.pending) {
        if (!p.settled && now >= p.deadline) {
          p.settled = true
          // Still re-sent until applied, so later writes of the session are not stuck behind it.
          p.request.failed(new ZkError('CONNECTIONLOSS', `no quorum applied this write within the session timeout (${local.session.timeoutMs} ms); it may or may not be applied later`))
        }
      }
      // Timed from the oldest unapplied write's own send, so a stream of new writes cannot
      // postpone re-sending one that was lost.
      const head = local.pending[0]
      if ((head !== undefined && now - head.sentMs >= resendAfter) ||
          (head === undefined && local.closeData !== undefined && this.#ticks % this.opts.electionTicks === 0)) {
        this.#resend(local, now)
      }
    }
    for (const [nonce, o] of this.#opens) {
      if (now >= o.deadline) {
        this.#opens.delete(nonce)
        o.reject(new ZkError('CONNECTIONLOSS', 'could not open a session: no leader committed it in time'))
      } else if (now - o.lastSentMs >= resendAfter) {
        o.lastSentMs = now
        this.#propose(o.data)
      }
    }
    for (const [ctx, r] of this.#reads) {
      if (now >= r.deadline) {
        this.#reads.delete(ctx)
        r.reject(new ZkError('CONNECTIONLOSS', 'sync did not complete: no leader confirmed a read index in time'))
      } else if (now - r.lastSentMs >= resendAfter) {
        r.lastSentMs = now
        this.core.readIndex(ctx)
      }
    }
    this.#releaseReadWaiters(now)
  }

  // ── leader duties: session expiry, reaping, heartbeats ────────────────────────────────────

  #leaderDuties (now: number): void {
    if (this.#ticks % this.#expiryCheckEveryTicks() === 0) this.#expireSilentSessions(now)
    if (this.#ticks % Math.max(1, Math.round(this.opts.reapIntervalMs / this.opts.tickMs)) === 0) {
      for (const path of this.sm.tree.dueForReaping(this.env.clock.nowMs())) {
        if (!this.#reaping.has(path) && this.#propose(encodeCommand({ t: 'reap', path } satisfies Command))) this.#reaping.add(path)
      }
    }
  }

  /**
   * Scans every session: ten times per shortest session timeout is precise enough and keeps
   * the cost of many sessions off most ticks (ZooKeeper buckets expiry by tick for the same reason).
   */
  #expiryCheckEveryTicks (): number {
    return Math.max(1, Math.floor(this.opts.minSessionTimeoutMs / 10 / this.opts.tickMs))
  }

  #expireSilentSessions (now: number): void {
    for (const id of this.#local.keys()) this.#lastHeard.set(id, now)
    for (const s of this.sm.sessions.all()) {
      const last = this.#lastHeard.get(s.id)
      if (last === undefined) {
        this.#lastHeard.set(s.id, now)
        continue
      }
      if (now - last > s.timeoutMs && !this.#expiring.has(s.id) &&
          this.#propose(encodeCommand({ t: 'close', sid: s.id.toString(), expired: true, epoch: s.epoch }))) {
        this.#expiring.add(s.id)
        this.log.info('expiring a silent session', { session: s.id.toString(16), owner: s.owner })
      }
    }
  }

  #sendTouches (): void {
    const leader = this.#leaderId
    if (leader === undefined || leader === this.id || this.#local.size === 0) return
    this.#send(leader, { k: 'touch', s: [...this.#local.keys()].map((id) => id.toString()) })
  }

  #touchEveryTicks (): number {
    return Math.max(1, Math.floor(this.opts.minSessionTimeoutMs / 3 / this.opts.tickMs))
  }

  async #handOffLeadership (): Promise<void> {
    this.core.transferLeadership()
    this.#schedule()
    const deadline = this.env.clock.monotonicMs() + this.#electionTimeoutMs() * 2
    await new Promise<void>((resolve) => {
      const check = (): void => {
        if (this.#role !== 'leader' || this.env.clock.monotonicMs() >= deadline) {
          cancel()
          resolve()
        }
      }
      const cancel = this.env.clock.every(this.opts.tickMs, check)
    })
  }

  #electionTimeoutMs (): number {
    return this.opts.tickMs * this.opts.electionTicks
  }

  #checkRunning (): void {
    if (this.#stopping) throw new ZkError('CONNECTIONLOSS', `peer ${this.id} is stopped`)
  }

}

/**
 * Entry bytes after which the core's in-memory log is compacted (and with it a storage that
 * keeps no snapshot bytes), whatever the stored snapshot's schedule.
 */
const MEMORY_LOG_BYTES = 4 << 20
/** Entry bytes the core keeps behind a compaction (a leader keeps more while a follower needs them). */
const RETAINED_LOG_BYTES = 1 << 20
/** Least log bytes between two snapshots of a durable storage taken because of the log's size. */
const DURABLE_SNAPSHOT_LOG_BYTES = 16 << 20
/** A durable snapshot is due once the log since the last one is this many times smaller than it. */
const SNAPSHOT_BYTES_PER_LOG_BYTE = 8
/**
 * Snapshot chunks sent to a follower, pipelined up to the core's 16 MiB in flight: 4 MiB (well
 * under the transports' 16 MiB frames) keeps the per-message costs of a million-znode snapshot
 * to some 35 messages, and a window of four keeps the follower decoding while the next arrive.
 */
const SNAPSHOT_CHUNK_BYTES = 4 << 20
/** Znodes encoded between two turns of the event loop (some 10-30 ms). */
const SNAPSHOT_NODES_PER_STEP = 20_000
/** Snapshots from this size on are decoded into memory warmed by another thread (starting one costs some 20 ms). */
const WARMED_SNAPSHOT_BYTES = 32 << 20
/** Trees from this many znodes on (some 30 MB of snapshot) are encoded into memory warmed likewise. */
const WARMED_SNAPSHOT_NODES = 200_000
/** Bytes of an in-memory snapshot decoded per step: some 15,000 znodes of 100 B. */
const SNAPSHOT_DECODE_STEP_BYTES = 2 << 20
/** What ends the steps of a snapshot encoding given up (its value is never used). */
const EMPTY_SNAPSHOT = new Uint8Array(0)
/** A snapshot encoded for a follower is dropped if the core has not taken it by then. */
const PREPARED_SNAPSHOT_TTL_MS = 10_000

/**
 * Restores a state machine from a recovered snapshot as its storage reads it: a file is
 * decoded piece by piece as it is read, never held whole.
 */
async function restoreFrom (source: SnapshotSource, log: Logger): Promise<StateMachine> {
  const { decoder, close } = openDecoder(source.bytes, log)
  try {
    await source.pipeTo((chunk) => { decoder.write(chunk) })
    return decoder.finish()
  } finally {
    close()
  }
}

/**
 * A decoder for a snapshot of `bytes`: a large one decodes into memory warmed up by another
 * thread (see MemoryWarmer), which on a machine where first-touched memory is slow takes a good
 * part of the decoding's time off this thread. `close` stops that thread.
 */
function openDecoder (bytes: number, log: Logger): SnapshotDecoding {
  const warmer = bytes >= WARMED_SNAPSHOT_BYTES ? MemoryWarmer.start(log) : undefined
  return { decoder: StateMachine.snapshotDecoder(warmer?.allocate), close: () => { void warmer?.stop() } }
}

/**
 * Removes and returns the pending write with sequence number `seq`, if any. Writes apply in
 * sequence order, so it is nearly always the first.
 */
function takePending (pending: PendingWrite[], seq: number): PendingWrite | undefined {
  if (pending[0]?.seq === seq) return pending.shift()
  for (let i = 1; i < pending.length; i++) if (pending[i]!.seq === seq) return pending.splice(i, 1)[0]
  return undefined
}

/**
 * Entries kept behind a snapshot, in the core and in storage alike, so a follower that lags a
 * little catches up by log; one further behind is sent the snapshot.
 */
function retainedEntries (opts: ResolvedOptions): number {
  return Math.min(5_000, opts.snapshotEntries)
}
