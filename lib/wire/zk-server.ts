/**
 * A ZooKeeper client-port server: speaks ZooKeeper's jute protocol over TCP and maps each
 * connection onto a zkpeer `Session` of one peer, so unmodified ZooKeeper clients can use an
 * embedded ensemble.
 *
 * Owns: the listening socket, framing (int length + record), the connect handshake, request
 * dispatch, reply/notification ordering, sessions detached by a dropped connection (kept for
 * their timeout so the client can reattach with id + password), and four-letter words.
 * Must not touch: the peer's internals; everything goes through the public Session/Peer API.
 *
 * Ordering (ZooKeeper's guarantee: a client sees a watch event before the data that triggered
 * it, and replies come in request order). Writes are issued at once, in order, so they
 * pipeline; a read waits until every earlier reply is written, then runs (a Session read with
 * no pending write computes synchronously), and events that fire between its computation and
 * its reply are held and written right after that reply. Events fired while only writes are
 * in flight are written immediately, i.e. before the reply of the write that caused them, as
 * ZooKeeper does.
 *
 * Bad input closes only the offending connection: an oversized or negative frame length, a
 * malformed record, or a request before the handshake. An unknown opcode is answered with
 * UNIMPLEMENTED, as ZooKeeper does.
 */
import { timingSafeEqual } from 'node:crypto'
import net from 'node:net'
import type { Logger } from '../env.js'
import { ZkError } from '../errors.js'
import { Op, type MultiOp } from '../op.js'
import type { Peer } from '../peer.js'
import type { Session } from '../session/session.js'
import type { CreateModeValue, OpResult, Stat, WatchEvent } from '../tree/types.js'
import { answerFourLetterWord, isFourLetterWord, type ConnectionInfo } from './four-letter.js'
import { JuteError, JuteReader, JuteWriter } from './jute.js'
import { AddWatchMode, EventType, KeeperState, OpCode, WatcherType, Xid, opName } from './opcodes.js'
import {
  expectEnd, readAuthPacket, readConnectRequest, readCreateRequest, readMultiHeader, readPathInt, readPathOnly,
  readPathVersion, readPathWatch, readRequestHeader, readSetAclRequest, readSetDataRequest, readSetWatches,
  writeAcl, writeConnectResponse, writeMultiHeader, writeReplyHeader, writeStat, writeStrings, writeWatcherEvent,
  writeWhoAmIResponse, type CreateRequest,
} from './records.js'

/** ZooKeeper's default `jute.maxbuffer`: 0xfffff bytes. */
export const JUTE_MAX_BUFFER = 0xfffff
/** Room for the request header and the fields around a maximal data buffer. */
const HEADER_ALLOWANCE = 1024

/** Options of {@link startZkServer}. */
export interface ZkServerOptions {
  /** The peer whose sessions clients get. */
  readonly peer: Peer
  /** `tcp://host:port`; port 0 picks a free one (read the result's `url`). */
  readonly listen: string
  /** Largest frame accepted, in bytes, length prefix excluded. Default 0xfffff + 1 KiB of headers. */
  readonly maxPacketBytes?: number
  /** Voting members in the ensemble, for `srvr`/`mntr` (standalone vs leader). Default: guessed from `peer.status()`. */
  readonly ensembleSize?: number
  /** Most concurrent client connections; more are refused at accept. Default 1024. */
  readonly maxConnections?: number
  /** The peer's settings `conf` reports, in ZooKeeper's names (tickTime, minSessionTimeout…). */
  readonly settings?: Readonly<Record<string, string | number>>
  readonly log?: Logger
}

/** A running client-port server. */
export interface ZkServer {
  /** `tcp://host:port` with the real port. */
  readonly url: string
  /** The bound port. */
  readonly port: number
  /**
   * Stops accepting, drops every connection, and closes every session it opened (their
   * ephemerals go) — unless `keepSessions`, used when the peer itself stops: then, as when a
   * ZooKeeper server shuts down, the clients move their sessions to other peers (or the sessions
   * expire after their timeout). Idempotent.
   */
  stop (options?: { readonly keepSessions?: boolean }): Promise<void>
}

const silentLog: Logger = { debug () {}, info () {}, warn () {}, error () {} }

/** A session opened through this server, attached to at most one connection at a time. */
interface Binding {
  readonly session: Session
  readonly passwd: Buffer
  conn: Connection | undefined
  expiry: NodeJS.Timeout | undefined
}

/** Server-wide counters and tables shared by the connections. */
interface ServerState {
  readonly peer: Peer
  readonly log: Logger
  readonly maxPacketBytes: number
  readonly ensembleSize: number | undefined
  readonly settings: Readonly<Record<string, string | number>>
  readonly port: number
  readonly host: string
  readonly connections: Set<Connection>
  readonly bindings: Map<bigint, Binding>
  received: number
  sent: number
  latency: { min: number, max: number, total: number, count: number }
  stopped: boolean
}

/**
 * Starts a client-port server for `peer`. Each connection's handshake opens a new session
 * through `peer.connect({ sessionTimeoutMs })` (the peer clamps the timeout) or reattaches a
 * detached one of this server by id and password.
 */
export async function startZkServer (options: ZkServerOptions): Promise<ZkServer> {
  const m = /^tcp:\/\/(\[[^\]]+\]|[^:/]+):(\d+)\/?$/.exec(options.listen)
  if (m === null) throw new TypeError(`startZkServer: listen must be tcp://host:port, got ${JSON.stringify(options.listen)}`)
  const host = (m[1] as string).replace(/^\[|\]$/g, '')
  const wantedPort = Number(m[2])
  const maxPacketBytes = options.maxPacketBytes ?? JUTE_MAX_BUFFER + HEADER_ALLOWANCE
  if (!Number.isInteger(maxPacketBytes) || maxPacketBytes < 64) throw new TypeError('startZkServer: maxPacketBytes must be an integer ≥ 64')
  const maxConnections = options.maxConnections ?? 1024
  const server = net.createServer({ noDelay: true })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(wantedPort, host, () => { server.off('error', reject); resolve() })
  })
  const port = (server.address() as net.AddressInfo).port
  const state: ServerState = {
    peer: options.peer,
    log: options.log ?? silentLog,
    maxPacketBytes,
    ensembleSize: options.ensembleSize,
    settings: { ...options.settings, maxClientCnxns: maxConnections },
    port,
    host,
    connections: new Set(),
    bindings: new Map(),
    received: 0,
    sent: 0,
    latency: { min: 0, max: 0, total: 0, count: 0 },
    stopped: false,
  }
  server.on('connection', (socket) => {
    if (state.stopped || state.connections.size >= maxConnections) {
      socket.destroy()
      return
    }
    state.connections.add(new Connection(socket, state))
  })
  let stopping: Promise<void> | undefined
  const stop = async (keepSessions: boolean): Promise<void> => {
    state.stopped = true
    const closed = new Promise<void>((resolve) => server.close(() => resolve()))
    for (const c of [...state.connections]) c.destroy('server stopping')
    const closing: Array<Promise<void>> = []
    for (const b of state.bindings.values()) {
      if (b.expiry !== undefined) clearTimeout(b.expiry)
      if (!keepSessions) closing.push(b.session.close().catch(() => {}))
    }
    state.bindings.clear()
    await Promise.all(closing)
    await closed
  }
  return {
    url: `tcp://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    stop: (options) => (stopping ??= stop(options?.keepSessions === true)),
  }
}

/** One reply slot, in request order; written once `frame` is set and every earlier slot is. */
interface Slot {
  frame: Buffer | undefined
  /** Events fired while this slot's read is computed-but-unsent must follow its reply. */
  hold: boolean
  readonly startedMs: number
}

/** What the connection asked to be told about (ZooKeeper keeps this per connection). */
interface WatchRecords {
  readonly data: Set<string>
  readonly child: Set<string>
  readonly persistent: Map<string, () => void>
  readonly recursive: Map<string, () => void>
}

/** Reads that must wait for earlier replies; everything else is issued at once. */
const WRITES = new Set<number>([
  OpCode.create, OpCode.create2, OpCode.createContainer, OpCode.createTTL, OpCode.delete, OpCode.setData,
  OpCode.setACL, OpCode.multi, OpCode.sync,
])

class Connection {
  #input: Buffer = Buffer.alloc(0)
  #handshaken = false
  #closed = false
  #binding: Binding | undefined
  #chain: Promise<void> = Promise.resolve()
  readonly #slots: Slot[] = []
  readonly #held: Buffer[] = []
  #drainWaiters: Array<() => void> = []
  readonly #watches: WatchRecords = { data: new Set(), child: new Set(), persistent: new Map(), recursive: new Map() }
  readonly #listener = (event: WatchEvent): void => { this.#onEvent(event) }
  readonly #onSessionState = (s: string): void => {
    if (s === 'expired' || s === 'closed') this.destroy(`session ${s}`)
  }

  // Counters for stat/cons.
  received = 0
  sent = 0
  lastOp = 'NA'
  lastCxid = 0
  lastZxid = 0
  lastResponseMs = 0
  readonly establishedMs = Date.now()
  readonly #lat = { min: 0, max: 0, total: 0, count: 0 }
  readonly remote: string

  constructor (private readonly socket: net.Socket, private readonly server: ServerState) {
    this.remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`
    socket.on('data', (chunk: Buffer) => { this.#onData(chunk) })
    socket.on('error', () => {})
    socket.on('close', () => { this.#onClose() })
  }

  /** A snapshot for `stat` / `cons`. */
  info (): ConnectionInfo {
    const w = this.#watches
    return {
      remote: this.remote,
      received: this.received,
      sent: this.sent,
      queued: this.#slots.length,
      sessionId: this.#binding?.session.sessionId,
      timeoutMs: this.#binding?.session.timeoutMs,
      lastOp: this.lastOp,
      lastCxid: this.lastCxid,
      lastZxid: this.lastZxid,
      establishedMs: this.establishedMs,
      lastResponseMs: this.lastResponseMs,
      minLatencyMs: this.#lat.min,
      maxLatencyMs: this.#lat.max,
      avgLatencyMs: this.#lat.count === 0 ? 0 : this.#lat.total / this.#lat.count,
      watchedPaths: new Set([...w.data, ...w.child, ...w.persistent.keys(), ...w.recursive.keys()]).size,
    }
  }

  /** Drops the connection; its session (if any) is detached and expires unless reattached. */
  destroy (why: string): void {
    if (this.#closed) return
    this.server.log.debug('closing client connection', { remote: this.remote, why })
    this.socket.destroy()
    this.#onClose()
  }

  #onClose (): void {
    if (this.#closed) return
    this.#closed = true
    this.server.connections.delete(this)
    this.#detach()
    for (const w of this.#drainWaiters) w()
    this.#drainWaiters = []
  }

  /** Forgets this connection's watches (ZooKeeper drops them with the connection) and starts the session's expiry clock. */
  #detach (): void {
    const b = this.#binding
    if (b === undefined) return
    this.#binding = undefined
    b.session.off('state', this.#onSessionState)
    this.#clearWatches()
    if (b.conn !== this) return
    b.conn = undefined
    if (this.server.stopped || b.session.state === 'closed' || b.session.state === 'expired') return
    this.#detachBinding(b)
  }

  #clearWatches (): void {
    const w = this.#watches
    for (const remove of w.persistent.values()) remove()
    for (const remove of w.recursive.values()) remove()
    w.data.clear()
    w.child.clear()
    w.persistent.clear()
    w.recursive.clear()
  }

  // ---- framing ----

  #onData (chunk: Buffer): void {
    if (this.#closed) return
    this.#input = this.#input.length === 0 ? chunk : Buffer.concat([this.#input, chunk])
    while (!this.#closed && this.#input.length >= 4) {
      if (!this.#handshaken) {
        const word = this.#input.toString('latin1', 0, 4)
        if (isFourLetterWord(word)) {
          this.#fourLetterWord(word)
          return
        }
      }
      const len = this.#input.readInt32BE(0)
      if (len <= 0 || len > this.server.maxPacketBytes) {
        this.server.log.warn('refusing a client frame', { remote: this.remote, length: len, max: this.server.maxPacketBytes })
        this.destroy(`frame length ${len} outside 1..${this.server.maxPacketBytes}`)
        return
      }
      if (this.#input.length < 4 + len) return
      const frame = this.#input.subarray(4, 4 + len)
      this.#input = this.#input.subarray(4 + len)
      this.received++
      this.server.received++
      this.#onFrame(frame)
    }
  }

  #fourLetterWord (word: Parameters<typeof answerFourLetterWord>[0]): void {
    const s = this.server
    const status = s.peer.status()
    const others = Object.keys(status.peers).filter((id) => id !== status.id)
    const ensembleSize = s.ensembleSize ?? (status.role === 'leader' && others.length === 0 ? 1 : undefined)
    const conns = [...s.connections].filter((c) => c !== this).map((c) => c.info())
    const text = answerFourLetterWord(word, {
      status,
      ensembleSize,
      clientPort: s.port,
      clientHost: s.host,
      maxPacketBytes: s.maxPacketBytes,
      settings: s.settings,
      connections: conns,
      received: s.received,
      sent: s.sent,
      minLatencyMs: s.latency.min,
      maxLatencyMs: s.latency.max,
      avgLatencyMs: s.latency.count === 0 ? 0 : s.latency.total / s.latency.count,
    })
    this.#closed = true
    this.server.connections.delete(this)
    this.socket.end(text)
  }

  #onFrame (frame: Buffer): void {
    // A private copy: the input buffer is reused for later frames while requests wait.
    const copy = Buffer.from(frame)
    if (!this.#handshaken) {
      this.#handshaken = true
      this.#chain = this.#chain.then(() => this.#handshake(copy))
      return
    }
    this.#chain = this.#chain.then(() => this.#request(copy)).catch((err: unknown) => {
      this.server.log.warn('bad client request', { remote: this.remote, error: String(err) })
      this.destroy(String(err))
    })
  }

  #reader (frame: Buffer): JuteReader {
    return new JuteReader(frame, { maxFieldBytes: this.server.maxPacketBytes })
  }

  // ---- handshake ----

  async #handshake (frame: Buffer): Promise<void> {
    let req
    try {
      req = readConnectRequest(this.#reader(frame))
    } catch (err) {
      this.destroy(`malformed ConnectRequest: ${String(err)}`)
      return
    }
    const s = this.server
    const zxid = s.peer.status().zxid
    if (req.lastZxidSeen > BigInt(zxid)) {
      // ZooKeeper refuses a client that has seen more than this server, so it never goes back in time.
      this.destroy(`client has seen zxid 0x${req.lastZxidSeen.toString(16)}, this peer only 0x${zxid.toString(16)}`)
      return
    }
    let binding: Binding | undefined
    const local = req.sessionId === 0n ? undefined : s.bindings.get(BigInt.asUintN(64, req.sessionId))
    if (local !== undefined) {
      if (local.passwd.length !== req.passwd.length || !timingSafeEqual(local.passwd, req.passwd) ||
        local.session.state === 'closed' || local.session.state === 'expired') {
        this.#refuseSession()
        return
      }
      binding = local
      if (binding.conn !== undefined) binding.conn.destroy('session moved to another connection')
      if (binding.expiry !== undefined) clearTimeout(binding.expiry)
      binding.expiry = undefined
    } else {
      let session: Session
      try {
        session = req.sessionId === 0n
          ? await s.peer.connect({ sessionTimeoutMs: Math.max(1, req.timeOut) })
          // A session of another peer (whose client lost it): move it here, as ZooKeeper servers do.
          : await s.peer.connect({ sessionId: BigInt.asUintN(64, req.sessionId), password: req.passwd })
      } catch (err) {
        if (err instanceof ZkError && err.code === 'SESSIONEXPIRED') this.#refuseSession()
        else this.destroy(`could not open a session: ${String(err)}`)
        return
      }
      binding = { session, passwd: Buffer.from(session.password), conn: undefined, expiry: undefined }
      s.bindings.set(session.sessionId, binding)
      session.on('state', (st: string) => {
        if (st === 'expired' || st === 'closed') {
          if (binding?.expiry !== undefined) clearTimeout(binding.expiry)
          if (s.bindings.get(session.sessionId) === binding) s.bindings.delete(session.sessionId)
        }
      })
      if (this.#closed) {
        this.#detachBinding(binding)
        return
      }
    }
    if (this.#closed) return
    binding.conn = this
    this.#binding = binding
    binding.session.on('state', this.#onSessionState)
    this.#writeConnectResponse({ timeOut: binding.session.timeoutMs, sessionId: binding.session.sessionId, passwd: binding.passwd })
  }

  /** Unknown, expired or wrong password: ZooKeeper answers timeOut 0, the client reports SESSION_EXPIRED. */
  #refuseSession (): void {
    this.#writeConnectResponse({ timeOut: 0, sessionId: 0n, passwd: Buffer.alloc(16) })
    this.socket.end()
    this.#onClose()
  }

  /** Starts the expiry of a session left without a connection (dropped, or during the handshake). */
  #detachBinding (b: Binding): void {
    // The session stays open (its ephemerals too) for one timeout, for the client to come back
    // to this peer or to move to another; then it is closed, as the leader would expire it.
    b.expiry = setTimeout(() => {
      if (b.conn !== undefined || this.server.bindings.get(b.session.sessionId) !== b) return
      this.server.bindings.delete(b.session.sessionId)
      b.session.close().catch((err: unknown) => this.server.log.warn('closing a detached session failed', { error: String(err) }))
    }, b.session.timeoutMs)
    b.expiry.unref()
  }

  #writeConnectResponse (v: { timeOut: number, sessionId: bigint, passwd: Uint8Array }): void {
    const w = new JuteWriter(64)
    writeConnectResponse(w, { protocolVersion: 0, readOnly: false, ...v })
    this.#send(w.frame())
  }

  // ---- output ordering ----

  #send (frame: Buffer): void {
    if (this.#closed) return
    this.sent++
    this.server.sent++
    this.socket.write(frame)
  }

  #flush (): void {
    while (this.#slots.length > 0) {
      const head = this.#slots[0] as Slot
      if (head.frame === undefined) break
      this.#slots.shift()
      this.#send(head.frame)
      this.#recordLatency(Date.now() - head.startedMs)
    }
    if (this.#held.length > 0 && !this.#slots.some((s) => s.hold)) {
      for (const e of this.#held.splice(0)) this.#send(e)
    }
    if (this.#slots.length === 0) {
      for (const w of this.#drainWaiters.splice(0)) w()
    }
  }

  #recordLatency (ms: number): void {
    for (const l of [this.#lat, this.server.latency]) {
      l.min = l.count === 0 ? ms : Math.min(l.min, ms)
      l.max = Math.max(l.max, ms)
      l.total += ms
      l.count++
    }
    this.lastResponseMs = Date.now()
  }

  /** Resolves once every earlier reply has been written (or the connection closed). */
  #drained (): Promise<void> {
    if (this.#slots.length === 0 || this.#closed) return Promise.resolve()
    return new Promise((resolve) => { this.#drainWaiters.push(resolve) })
  }

  #reply (slot: Slot, xid: number, err: number, body?: (w: JuteWriter) => void): void {
    const w = new JuteWriter(body === undefined ? 16 : 256)
    const zxid = this.server.peer.status().zxid
    this.lastZxid = zxid
    writeReplyHeader(w, { xid, zxid, err })
    if (err === 0 && body !== undefined) body(w)
    slot.frame = w.frame()
    slot.hold = false
    this.#flush()
  }

  #onEvent (event: WatchEvent): void {
    if (this.#closed) return
    if (!this.#wants(event)) return
    this.#emitEvent(event.type, event.path)
  }

  #emitEvent (type: WatchEvent['type'], path: string, immediate = false): void {
    const w = new JuteWriter(64)
    writeReplyHeader(w, { xid: Xid.notification, zxid: -1, err: 0 })
    writeWatcherEvent(w, { type: EventType[type], state: KeeperState.SyncConnected, path })
    const frame = w.frame()
    if (!immediate && this.#slots.some((s) => s.hold)) this.#held.push(frame)
    else this.#send(frame)
  }

  /** Whether this connection still asked for `event`; consumes the one-shot watches it fires. */
  #wants (event: WatchEvent): boolean {
    const w = this.#watches
    const { type, path } = event
    let wanted = false
    if (type !== 'NodeChildrenChanged' && w.data.delete(path)) wanted = true
    if ((type === 'NodeChildrenChanged' || type === 'NodeDeleted') && w.child.delete(path)) wanted = true
    if (w.persistent.has(path)) wanted = true
    if (!wanted && type !== 'NodeChildrenChanged') {
      for (let p: string | undefined = path; p !== undefined; p = parentOf(p)) {
        if (w.recursive.has(p)) { wanted = true; break }
      }
    }
    return wanted
  }

  // ---- requests ----

  async #request (frame: Buffer): Promise<void> {
    if (this.#closed) return
    const r = this.#reader(frame)
    const header = readRequestHeader(r)
    const b = this.#binding
    if (b === undefined) throw new JuteError('request on a connection without a session')
    this.lastOp = opName(header.type).toUpperCase().slice(0, 4)
    if (header.xid >= 0) this.lastCxid = header.xid
    const slot: Slot = { frame: undefined, hold: false, startedMs: Date.now() }
    const isWrite = WRITES.has(header.type)
    if (!isWrite) {
      await this.#drained()
      if (this.#closed) return
    }
    this.#slots.push(slot)
    if (!isWrite) slot.hold = true
    const session = b.session
    const fail = (err: unknown): void => {
      if (this.#closed) return
      if (err instanceof ZkError) {
        this.#reply(slot, header.xid, err.rc)
      } else {
        this.server.log.warn('unexpected error serving a client request', { op: opName(header.type), error: String(err) })
        this.#reply(slot, header.xid, -1)
      }
    }
    const answer = <T>(p: Promise<T>, body: (w: JuteWriter, v: T) => void): void => {
      p.then((v) => { if (!this.#closed) this.#reply(slot, header.xid, 0, (w) => body(w, v)) }, fail)
    }
    switch (header.type) {
      case OpCode.ping: {
        expectEnd(r, 'ping')
        this.#reply(slot, header.xid, 0)
        return
      }
      case OpCode.closeSession: {
        // As ZooKeeper: the reply follows the closeSession transaction, so once the client
        // hears back, its ephemerals are gone.
        session.off('state', this.#onSessionState)
        try { await session.close() } catch { /* the session ends either way */ }
        this.server.bindings.delete(session.sessionId)
        this.#reply(slot, header.xid, 0)
        this.socket.end()
        this.#onClose()
        return
      }
      case OpCode.create:
      case OpCode.create2:
      case OpCode.createContainer:
      case OpCode.createTTL: {
        const req = readCreateRequest(r, header.type === OpCode.createTTL)
        expectEnd(r, 'create')
        const withStat = header.type !== OpCode.create
        answer(this.#createVia(session, req, header.type), (w, res) => {
          w.ustring(res.path)
          if (withStat) writeStat(w, res.stat)
        })
        return
      }
      case OpCode.delete: {
        const req = readPathVersion(r)
        expectEnd(r, 'delete')
        answer(session.delete(req.path, req.version), () => {})
        return
      }
      case OpCode.setData: {
        const req = readSetDataRequest(r)
        expectEnd(r, 'setData')
        answer(session.setData(req.path, req.data, req.version), writeStat)
        return
      }
      case OpCode.setACL: {
        const req = readSetAclRequest(r)
        expectEnd(r, 'setACL')
        answer(session.setACL(req.path, req.acl, req.version), writeStat)
        return
      }
      case OpCode.sync: {
        const path = readPathOnly(r)
        expectEnd(r, 'sync')
        answer(session.sync(path), (w) => { w.ustring(path) })
        return
      }
      case OpCode.multi: {
        const ops = this.#readMulti(r)
        this.#multi(session, ops, slot, header.xid)
        return
      }
      case OpCode.exists: {
        const req = readPathWatch(r)
        expectEnd(r, 'exists')
        // exists arms a watch even on a missing node; record it before the call so an event
        // fired right after the read is recognised.
        if (req.watch) this.#watches.data.add(req.path)
        const p = session.exists(req.path, req.watch ? { watch: this.#listener } : undefined)
        p.catch(() => { if (req.watch) this.#watches.data.delete(req.path) })
        answer(p.then((stat) => {
          if (stat === null) throw new ZkError('NONODE', undefined, req.path)
          return stat
        }), writeStat)
        return
      }
      case OpCode.getData: {
        const req = readPathWatch(r)
        expectEnd(r, 'getData')
        if (req.watch) this.#watches.data.add(req.path)
        const p = session.getData(req.path, req.watch ? { watch: this.#listener } : undefined)
        p.catch(() => { if (req.watch) this.#watches.data.delete(req.path) })
        answer(p, (w, v) => { w.buffer(v.data); writeStat(w, v.stat) })
        return
      }
      case OpCode.getChildren:
      case OpCode.getChildren2: {
        const req = readPathWatch(r)
        expectEnd(r, 'getChildren')
        if (req.watch) this.#watches.child.add(req.path)
        // Both reads compute synchronously here (no write of this session is pending), so the
        // stat and the names describe the same state.
        const names = session.getChildren(req.path, req.watch ? { watch: this.#listener } : undefined)
        const stat = header.type === OpCode.getChildren2 ? session.exists(req.path) : Promise.resolve(null)
        names.catch(() => { if (req.watch) this.#watches.child.delete(req.path) })
        stat.catch(() => {})
        answer(Promise.all([names, stat]), (w, [children, st]) => {
          writeStrings(w, children)
          if (st !== null) writeStat(w, st)
        })
        return
      }
      case OpCode.getACL: {
        const path = readPathOnly(r)
        expectEnd(r, 'getACL')
        answer(session.getACL(path), (w, v) => { w.vector(v.acl, writeAcl); writeStat(w, v.stat) })
        return
      }
      case OpCode.getAllChildrenNumber: {
        const path = readPathOnly(r)
        expectEnd(r, 'getAllChildrenNumber')
        answer(session.getAllChildrenNumber(path), (w, n) => { w.int(n) })
        return
      }
      case OpCode.getEphemerals: {
        const prefix = readPathOnly(r)
        expectEnd(r, 'getEphemerals')
        answer(session.getEphemerals(prefix), writeStrings)
        return
      }
      case OpCode.whoAmI: {
        expectEnd(r, 'whoAmI')
        answer(Promise.resolve(session.authIds), (w, ids) => {
          writeWhoAmIResponse(w, ids.filter((i) => i.scheme !== 'super').map((i) => ({ authScheme: i.scheme, user: i.id })))
        })
        return
      }
      case OpCode.multiRead: {
        const ops = this.#readMulti(r)
        this.#multiRead(session, ops, slot, header.xid)
        return
      }
      case OpCode.auth: {
        const req = readAuthPacket(r)
        expectEnd(r, 'auth')
        try {
          await session.addAuth(req.scheme, req.auth)
          this.#reply(slot, header.xid, 0)
        } catch (err) {
          // ZooKeeper answers AUTHFAILED and then closes the connection.
          this.#reply(slot, header.xid, err instanceof ZkError ? err.rc : -115)
          this.socket.end()
          this.#onClose()
        }
        return
      }
      case OpCode.setWatches:
      case OpCode.setWatches2: {
        const req = readSetWatches(r, header.type === OpCode.setWatches2)
        expectEnd(r, 'setWatches')
        // As ZooKeeper: the events for what changed since the client's last zxid go out first.
        void this.#setWatches(session, req).then(() => { if (!this.#closed) this.#reply(slot, header.xid, 0) })
        return
      }
      case OpCode.addWatch: {
        const req = readPathInt(r)
        expectEnd(r, 'addWatch')
        if (req.value !== AddWatchMode.PERSISTENT && req.value !== AddWatchMode.PERSISTENT_RECURSIVE) {
          this.#reply(slot, header.xid, -8)
          return
        }
        try {
          this.#addPersistent(session, req.path, req.value === AddWatchMode.PERSISTENT_RECURSIVE)
          this.#reply(slot, header.xid, 0)
        } catch (err) {
          fail(err)
        }
        return
      }
      case OpCode.checkWatches:
      case OpCode.removeWatches: {
        const req = readPathInt(r)
        expectEnd(r, 'removeWatches')
        const found = this.#matchWatches(req.path, req.value, header.type === OpCode.removeWatches)
        this.#reply(slot, header.xid, found ? 0 : -121)
        return
      }
      default:
        // ZooKeeper answers an opcode it does not know with UNIMPLEMENTED and keeps the connection.
        this.#reply(slot, header.xid, -6)
    }
  }

  #createVia (session: Session, req: CreateRequest, opcode: number): Promise<{ path: string, stat: Stat }> {
    // Session.create resolves with the path only; a one-op multi returns the stat too, with the
    // same validation, the same error code, and the same single transaction.
    let op: MultiOp
    try {
      op = this.#createOp(req, opcode)
    } catch (err) {
      return Promise.reject(err)
    }
    return session.multi([op]).then((results) => {
      const r = results[0] as Extract<OpResult, { type: 'create' }>
      return { path: r.path, stat: r.stat }
    })
  }

  #createOp (req: CreateRequest, opcode: number): MultiOp {
    let mode = req.flags
    if (opcode === OpCode.createContainer && mode !== 4) throw new ZkError('BADARGUMENTS', 'createContainer needs the CONTAINER flag')
    if (opcode === OpCode.createTTL && mode !== 5 && mode !== 6) throw new ZkError('BADARGUMENTS', 'createTTL needs a TTL create mode')
    if (opcode !== OpCode.createTTL && (mode === 5 || mode === 6)) throw new ZkError('BADARGUMENTS', 'a TTL mode needs createTTL')
    if (!Number.isInteger(mode) || mode < 0 || mode > 6) throw new ZkError('BADARGUMENTS', `unknown create flags ${mode}`)
    return Op.create(req.path, req.data, { mode: mode as CreateModeValue, acl: req.acl, ...(req.ttl !== undefined ? { ttlMs: req.ttl } : {}) })
  }

  /** Reads the op list of a multi/multiRead request, up to the `done` header. */
  #readMulti (r: JuteReader): Array<{ type: number, read: JuteReader }> {
    const ops: Array<{ type: number, read: JuteReader }> = []
    for (;;) {
      const h = readMultiHeader(r)
      if (h.done) break
      if (ops.length >= 100_000) throw new JuteError('too many ops in a multi')
      // Each op's record is read right away so the next header is in place.
      ops.push({ type: h.type, read: this.#captureOp(r, h.type) })
    }
    expectEnd(r, 'multi')
    return ops
  }

  /** Consumes one op record from `r` and returns a reader over just its bytes. */
  #captureOp (r: JuteReader, type: number): JuteReader {
    const start = r.offset
    switch (type) {
      case OpCode.create: case OpCode.create2: case OpCode.createContainer: readCreateRequest(r, false); break
      case OpCode.createTTL: readCreateRequest(r, true); break
      case OpCode.delete: case OpCode.check: readPathVersion(r); break
      case OpCode.setData: readSetDataRequest(r); break
      case OpCode.getData: case OpCode.getChildren: readPathOnly(r); break
      default: throw new JuteError(`op type ${type} cannot appear in a multi`)
    }
    return r.sub(start, r.offset)
  }

  #multi (session: Session, ops: Array<{ type: number, read: JuteReader }>, slot: Slot, xid: number): void {
    let mapped: MultiOp[]
    try {
      mapped = ops.map(({ type, read }) => {
        switch (type) {
          case OpCode.create: case OpCode.create2: case OpCode.createContainer: case OpCode.createTTL:
            return this.#createOp(readCreateRequest(read, type === OpCode.createTTL), type)
          case OpCode.delete: { const v = readPathVersion(read); return Op.delete(v.path, v.version) }
          case OpCode.check: { const v = readPathVersion(read); return Op.check(v.path, v.version) }
          case OpCode.setData: { const v = readSetDataRequest(read); return Op.setData(v.path, v.data, v.version) }
          default: throw new ZkError('BADARGUMENTS', `op type ${type} is a read: use multiRead`)
        }
      })
    } catch (err) {
      this.#reply(slot, xid, err instanceof ZkError ? err.rc : -8)
      return
    }
    session.multi(mapped).then((results) => {
      this.#reply(slot, xid, 0, (w) => {
        results.forEach((res, i) => {
          const type = (ops[i] as { type: number }).type
          writeMultiHeader(w, { type: type === OpCode.createContainer || type === OpCode.createTTL ? OpCode.create2 : type, done: false, err: 0 })
          if (res.type === 'create') {
            w.ustring(res.path)
            if (type !== OpCode.create) writeStat(w, res.stat)
          } else if (res.type === 'setData') {
            writeStat(w, res.stat)
          }
        })
        writeMultiHeader(w, { type: -1, done: true, err: -1 })
      })
    }, (err: unknown) => {
      if (this.#closed) return
      if (!(err instanceof ZkError)) {
        this.#reply(slot, xid, -1)
        return
      }
      const results = err.results as ReadonlyArray<{ rc: number }> | undefined
      if (results === undefined) {
        this.#reply(slot, xid, err.rc)
        return
      }
      // ZooKeeper: the header says OK and every op carries an ErrorResult.
      this.#reply(slot, xid, 0, (w) => {
        for (const res of results) {
          writeMultiHeader(w, { type: OpCode.error, done: false, err: res.rc })
          w.int(res.rc)
        }
        writeMultiHeader(w, { type: -1, done: true, err: -1 })
      })
    })
  }

  #multiRead (session: Session, ops: Array<{ type: number, read: JuteReader }>, slot: Slot, xid: number): void {
    // Each read is issued now and computes synchronously, so all see one state.
    const results = ops.map(({ type, read }) => {
      const path = readPathOnly(read)
      if (type === OpCode.getData) return { type, p: session.getData(path).then((v) => v as { data: Buffer, stat: Stat } | string[]) }
      if (type === OpCode.getChildren) return { type, p: session.getChildren(path).then((v) => v as { data: Buffer, stat: Stat } | string[]) }
      return { type, p: Promise.reject(new ZkError('BADARGUMENTS', `op type ${type} is not a read`)) }
    })
    Promise.allSettled(results.map((x) => x.p)).then((settled) => {
      this.#reply(slot, xid, 0, (w) => {
        settled.forEach((s, i) => {
          const type = (results[i] as { type: number }).type
          if (s.status === 'fulfilled') {
            writeMultiHeader(w, { type, done: false, err: 0 })
            const v = s.value
            if (Array.isArray(v)) writeStrings(w, v)
            else { w.buffer(v.data); writeStat(w, v.stat) }
          } else {
            const rc = s.reason instanceof ZkError ? s.reason.rc : -1
            writeMultiHeader(w, { type: OpCode.error, done: false, err: rc })
            w.int(rc)
          }
        })
        writeMultiHeader(w, { type: -1, done: true, err: -1 })
      })
    }, () => {})
  }

  #addPersistent (session: Session, path: string, recursive: boolean): void {
    const table = recursive ? this.#watches.recursive : this.#watches.persistent
    if (table.has(path)) return
    table.set(path, session.addWatch(path, this.#listener, { recursive }))
  }

  /**
   * Re-arms the watches a reconnecting client lists, first sending the events it missed
   * (ZooKeeper's DataTree.setWatches): data watch → NodeDeleted if gone, NodeDataChanged if
   * mzxid > relativeZxid; exist watch → NodeCreated if present; child watch → NodeDeleted if
   * gone, NodeChildrenChanged if pzxid > relativeZxid; persistent ones are re-armed silently.
   */
  #setWatches (session: Session, req: ReturnType<typeof readSetWatches>): Promise<void> {
    const rel = req.relativeZxid
    const pending: Array<Promise<void>> = []
    for (const path of req.dataWatches) {
      this.#watches.data.add(path)
      pending.push(session.exists(path, { watch: this.#listener }).then((st) => {
        if (st === null) { this.#watches.data.delete(path); this.#emitEvent('NodeDeleted', path, true) } else if (st.mzxid > rel) { this.#watches.data.delete(path); this.#emitEvent('NodeDataChanged', path, true) }
      }, () => { this.#watches.data.delete(path) }))
    }
    for (const path of req.existWatches) {
      this.#watches.data.add(path)
      pending.push(session.exists(path, { watch: this.#listener }).then((st) => {
        if (st !== null) { this.#watches.data.delete(path); this.#emitEvent('NodeCreated', path, true) }
      }, () => { this.#watches.data.delete(path) }))
    }
    for (const path of req.childWatches) {
      this.#watches.child.add(path)
      const st = session.exists(path)
      session.getChildren(path, { watch: this.#listener }).catch(() => {})
      pending.push(st.then((s) => {
        if (s === null) { this.#watches.child.delete(path); this.#emitEvent('NodeDeleted', path, true) } else if (s.pzxid > rel) { this.#watches.child.delete(path); this.#emitEvent('NodeChildrenChanged', path, true) }
      }, () => { this.#watches.child.delete(path) }))
    }
    for (const path of req.persistentWatches) this.#addPersistent(session, path, false)
    for (const path of req.persistentRecursiveWatches) this.#addPersistent(session, path, true)
    return Promise.all(pending).then(() => {})
  }

  /** checkWatches/removeWatches: does this connection hold a matching watch (and remove it)? */
  #matchWatches (path: string, type: number, remove: boolean): boolean {
    const w = this.#watches
    const data = type === WatcherType.Data || type === WatcherType.Any
    const child = type === WatcherType.Children || type === WatcherType.Any
    const persistent = type === WatcherType.Persistent || type === WatcherType.Any
    const recursive = type === WatcherType.PersistentRecursive || type === WatcherType.Any
    let found = false
    if (data && w.data.has(path)) { found = true; if (remove) w.data.delete(path) }
    if (child && w.child.has(path)) { found = true; if (remove) w.child.delete(path) }
    for (const [on, table] of [[persistent, w.persistent], [recursive, w.recursive]] as const) {
      const off = table.get(path)
      if (on && off !== undefined) {
        found = true
        if (remove) { off(); table.delete(path) }
      }
    }
    return found
  }
}

function parentOf (path: string): string | undefined {
  if (path === '/') return undefined
  const i = path.lastIndexOf('/')
  return i === 0 ? '/' : path.slice(0, i)
}
