/**
 * The connection logic shared by the TCP and WebSocket transports, written against a small
 * {@link Driver} (listen / dial) and {@link Link} (a connected byte stream) so that both wire
 * protocols get the same handshake, framing, queueing, batching, back-off and shutdown.
 *
 * Connection model: this peer dials every peer it sends to and uses that connection only for
 * its outgoing messages; connections other peers dial in are only read. So each direction of
 * each pair is one ordered stream, and no tie-breaking between simultaneous dials is needed.
 * On start it dials every peer once, unasked: a peer that sees it dial in knows it is up and
 * ends its own reconnect back-off towards it (a restarted follower may have nothing to send
 * for a while, yet needs the leader to reach it at once).
 *
 * Invariants:
 * - Per peer, messages are written in `send` order; a message is written at most once (one lost
 *   with a dropped connection is not resent: delivery is best-effort, the core retries).
 * - Bytes held for a peer never exceed `maxQueueBytes` (not yet written) plus one batch inside
 *   the socket: we stop writing when the link reports back-pressure.
 * - Nothing is delivered from, or written to, a peer before the handshake completes.
 * - After `stop()` resolves, no timer, immediate, socket or server of this transport remains.
 * - `onPeerLost` is reported for a connection that completed its handshake and then closed
 *   without this transport closing it (never for a failed dial, a refused handshake, a
 *   connection we superseded or cut for a protocol error, or after `stop()`).
 */
import type net from 'node:net'
import type { PeerId } from '../lib/consensus/types.js'
import { concatFrames, encodeFrame, encodeSplicedPayload, FrameDecoder, FrameError, frameHeader, type PayloadPieces } from './framing.js'
import { ClientHandshake, HANDSHAKE_MAX_FRAME_BYTES, HandshakeError, ServerHandshake } from './handshake.js'
import type { ResolvedOptions } from './options.js'
import type { MessageHandler, PeerLostHandler, Transport } from './transport.js'

/** A connected (or connecting) byte stream, as a driver exposes it. */
export interface Link {
  /** Writes `data` whole; returns false when the caller should wait for `onDrain`. */
  write (data: Buffer): boolean
  /** Closes at once, discarding unwritten data; `onClose` follows exactly once. */
  destroy (): void
  /** The remote address, for logs. */
  readonly remote: string
}

/** What a driver reports about a link. Calls never happen synchronously inside `dial`. */
export interface LinkHandlers {
  /** A dialed link is connected (and TLS-verified) and may be written. */
  onOpen (): void
  onData (chunk: Buffer): void
  onDrain (): void
  /** The link is closed and its handle released; `reason` is the error, if one occurred. */
  onClose (reason?: string): void
}

/** A listening server. */
export interface Listener {
  /** The URL actually listened on (port 0 resolved). */
  readonly url: string
  /** Stops accepting and destroys every accepted connection; resolves once all are released. */
  close (): Promise<void>
}

/** A wire protocol: how to listen and how to dial. */
export interface Driver {
  /** Starts listening; `onInbound` is called once per accepted link and returns its handlers. */
  listen (onInbound: (link: Link) => LinkHandlers): Promise<Listener>
  /** Starts connecting to `url` (a validated peer URL). Failures arrive as `onClose`. */
  dial (url: string, handlers: LinkHandlers): Link
}

/**
 * Starts `server` listening at `address` and resolves with the port it got (a requested port
 * 0 becomes a free one); rejects if it cannot listen (EADDRINUSE…).
 */
export async function listenOn (server: net.Server, address: { readonly host: string, readonly port: number }): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(address.port, address.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  return (server.address() as net.AddressInfo).port
}

/** Messages are written in batches of about this many bytes: few syscalls, bounded chunks. */
export const BATCH_BYTES = 256 * 1024

/** Unauthenticated inbound connections allowed at once; more are closed on arrival. */
const MAX_PENDING_HANDSHAKES = 64

/** Outgoing state for one remote peer. */
interface Outgoing {
  readonly id: PeerId
  readonly url: string
  /** Encoded payloads not yet written; `head` indexes the oldest (avoids O(n) shift). */
  queue: Array<Buffer | PayloadPieces>
  head: number
  queuedBytes: number
  /** Whether a "queue full" warning was logged since the queue last had room. */
  fullLogged: boolean
  link: Link | undefined
  /** Handshake done: writes may go out. */
  open: boolean
  /** The link accepts writes (no back-pressure pending). */
  writable: boolean
  failures: number
  reconnectTimer: NodeJS.Timeout | undefined
  handshakeTimer: NodeJS.Timeout | undefined
  flushImmediate: NodeJS.Immediate | undefined
}

/** An accepted connection. */
interface Incoming {
  readonly link: Link
  peer: PeerId | undefined
  handshakeTimer: NodeJS.Timeout | undefined
}

/**
 * Starts a transport over `driver` with already validated `options`. Rejects if listening
 * fails (e.g. the port is taken); after that, network failures are only logged, and lost
 * peers reported to `onPeerLost` (see the module's invariants).
 */
export async function startStreamTransport (options: ResolvedOptions, driver: Driver, onMessage: MessageHandler, onPeerLost?: PeerLostHandler): Promise<Transport> {
  const t = new StreamTransport(options, driver, onMessage, onPeerLost)
  await t.listen()
  return t
}

class StreamTransport implements Transport {
  private listener: Listener | undefined
  private stopped = false
  private stopping: Promise<void> | undefined
  private readonly outgoing = new Map<PeerId, Outgoing>()
  private readonly incoming = new Set<Incoming>()
  /** Resolvers waiting for a link's `onClose`, so `stop` returns only once handles are gone. */
  private readonly closing = new Map<Link, Promise<void>>()
  private readonly closed = new Map<Link, () => void>()
  /** Links this transport destroyed itself: their close says nothing about the peer. */
  private readonly cutByUs = new WeakSet<Link>()

  constructor (private readonly o: ResolvedOptions, private readonly driver: Driver, private readonly onMessage: MessageHandler, private readonly onPeerLost: PeerLostHandler | undefined) {
    for (const [id, { url }] of o.peers) {
      this.outgoing.set(id, {
        id, url, queue: [], head: 0, queuedBytes: 0, fullLogged: false, link: undefined, open: false, writable: false,
        failures: 0, reconnectTimer: undefined, handshakeTimer: undefined, flushImmediate: undefined,
      })
    }
  }

  get listenUrl (): string {
    return this.listener?.url ?? ''
  }

  async listen (): Promise<void> {
    this.listener = await this.driver.listen((link) => this.accept(link))
    this.o.log.info('transport listening', { id: this.o.id, url: this.listener.url })
    for (const out of this.outgoing.values()) this.dial(out)
  }

  send (to: PeerId, message: unknown): boolean {
    if (this.stopped) return false
    const out = this.outgoing.get(to)
    if (out === undefined) return false
    const payload = encodeSplicedPayload(message)
    if (payload.length > this.o.maxFrameBytes) {
      this.o.log.warn('message dropped: larger than maxFrameBytes', { to, bytes: payload.length, maxFrameBytes: this.o.maxFrameBytes })
      return false
    }
    if (out.queuedBytes + payload.length > this.o.maxQueueBytes) {
      if (!out.fullLogged) {
        out.fullLogged = true
        this.o.log.warn('send queue full: dropping messages', { to, queuedBytes: out.queuedBytes, maxQueueBytes: this.o.maxQueueBytes })
      }
      return false
    }
    out.queue.push(payload)
    out.queuedBytes += payload.length
    if (out.open) this.scheduleFlush(out)
    else if (out.link === undefined && out.reconnectTimer === undefined) this.dial(out)
    return true
  }

  stop (): Promise<void> {
    this.stopping ??= this.shutdown()
    return this.stopping
  }

  private async shutdown (): Promise<void> {
    this.stopped = true
    for (const out of this.outgoing.values()) {
      clearTimeout(out.reconnectTimer)
      clearTimeout(out.handshakeTimer)
      clearImmediate(out.flushImmediate)
      out.reconnectTimer = out.handshakeTimer = out.flushImmediate = undefined
      out.link?.destroy()
      out.queue = []
      out.head = 0
      out.queuedBytes = 0
    }
    for (const inc of this.incoming) {
      clearTimeout(inc.handshakeTimer)
      inc.link.destroy()
    }
    await this.listener?.close()
    await Promise.all(this.closing.values())
  }

  // ---- outgoing ----

  private dial (out: Outgoing): void {
    const decoder = new FrameDecoder(HANDSHAKE_MAX_FRAME_BYTES, (message) => this.onOutgoingFrame(out, handshake, message))
    const handshake = new ClientHandshake({ id: this.o.id, secret: this.o.secret }, out.id)
    let link: Link | undefined
    const handlers: LinkHandlers = {
      onOpen: () => {
        const l = link
        if (l === undefined || out.link !== l) return
        out.handshakeTimer = setTimeout(() => this.fail(l, `handshake with ${out.id} timed out`, { peer: out.id }), this.o.handshakeTimeoutMs)
        out.writable = l.write(encodeFrame(handshake.hello()))
      },
      onData: (chunk) => {
        if (link === undefined || out.link !== link) return
        try {
          decoder.push(chunk)
        } catch (err) {
          this.fail(link, errorText(err), { peer: out.id })
        }
      },
      onDrain: () => {
        if (link === undefined || out.link !== link) return
        out.writable = true
        if (out.open) this.scheduleFlush(out)
      },
      onClose: (reason) => {
        this.released(link)
        if (link === undefined || out.link !== link) return
        const wasOpen = out.open
        clearTimeout(out.handshakeTimer)
        clearImmediate(out.flushImmediate)
        out.handshakeTimer = out.flushImmediate = undefined
        out.link = undefined
        out.open = false
        if (this.stopped) return
        if (wasOpen) {
          this.o.log.info('connection to peer closed', { peer: out.id, reason })
          this.peerLost(out.id, link)
        } else {
          out.failures++
        }
        this.o.log.debug('connection to peer failed', { peer: out.id, url: out.url, reason, failures: out.failures })
        // After a failure, wait before redialing even if nothing is queued, so a flood of
        // sends to a down peer cannot turn into a flood of connection attempts.
        if (!wasOpen || out.head < out.queue.length) this.scheduleReconnect(out)
      },
    }
    try {
      link = this.driver.dial(out.url, handlers)
    } catch (err) {
      // E.g. unusable TLS material: log and retry later like any other failure.
      this.o.log.warn('cannot dial peer', { peer: out.id, url: out.url, reason: errorText(err) })
      out.failures++
      this.scheduleReconnect(out)
      return
    }
    out.link = link
    out.writable = false
    this.track(link)
  }

  private onOutgoingFrame (out: Outgoing, handshake: ClientHandshake, message: unknown): void {
    const link = out.link
    if (link === undefined) return
    if (out.open) throw new HandshakeError('peer sent data on our outgoing connection')
    const step = handshake.receive(message)
    if (step.reply !== undefined) out.writable = link.write(encodeFrame(step.reply))
    if (!step.done) return
    clearTimeout(out.handshakeTimer)
    out.handshakeTimer = undefined
    out.open = true
    out.failures = 0
    this.o.log.info('connected to peer', { peer: out.id, url: out.url })
    this.scheduleFlush(out)
  }

  private scheduleReconnect (out: Outgoing): void {
    const ceiling = Math.min(this.o.reconnectMaxMs, this.o.reconnectMinMs * 2 ** Math.min(out.failures, 30))
    // "Equal jitter": at least half the ceiling, so retries spread out but never collapse to 0.
    const delayMs = Math.round(ceiling / 2 + Math.random() * ceiling / 2)
    out.reconnectTimer = setTimeout(() => {
      out.reconnectTimer = undefined
      if (!this.stopped && out.link === undefined && out.head < out.queue.length) this.dial(out)
    }, delayMs)
  }

  private scheduleFlush (out: Outgoing): void {
    // One flush per loop turn batches every message sent in between into few writes.
    out.flushImmediate ??= setImmediate(() => {
      out.flushImmediate = undefined
      this.flush(out)
    })
  }

  private flush (out: Outgoing): void {
    const link = out.link
    while (link !== undefined && out.open && out.writable && out.head < out.queue.length) {
      const first = out.queue[out.head]!
      if ('pieces' in first || first.length >= BATCH_BYTES) {
        // A large frame (a snapshot chunk) goes on its own behind its header: copying it into
        // a batch buffer would cost as much fresh memory again.
        out.head++
        out.queuedBytes -= first.length
        link.write(frameHeader(first.length))
        if ('pieces' in first) for (const piece of first.pieces) out.writable = link.write(piece)
        else out.writable = link.write(first)
        continue
      }
      const batch: Buffer[] = []
      let bytes = 0
      // A batch is at most BATCH_BYTES unless it is one larger frame on its own.
      while (out.head < out.queue.length) {
        const next = out.queue[out.head]!
        if ('pieces' in next || (batch.length > 0 && bytes + next.length > BATCH_BYTES)) break
        batch.push(next)
        bytes += next.length
        out.head++
      }
      out.queuedBytes -= bytes
      out.writable = link.write(concatFrames(batch, bytes))
    }
    if (out.head === out.queue.length) {
      out.queue = []
      out.head = 0
    } else if (out.head > 1024 && out.head * 2 > out.queue.length) {
      out.queue = out.queue.slice(out.head)
      out.head = 0
    }
    if (out.queuedBytes < this.o.maxQueueBytes / 2) out.fullLogged = false
  }

  // ---- incoming ----

  private accept (link: Link): LinkHandlers {
    this.track(link)
    const inc: Incoming = { link, peer: undefined, handshakeTimer: undefined }
    const handshake = new ServerHandshake({ id: this.o.id, secret: this.o.secret }, (id) => this.o.peers.has(id))
    const decoder = new FrameDecoder(HANDSHAKE_MAX_FRAME_BYTES, (message) => {
      if (inc.peer !== undefined) {
        this.deliver(inc.peer, message)
        return
      }
      const step = handshake.receive(message)
      link.write(encodeFrame(step.reply))
      if (step.peer === undefined) return
      inc.peer = step.peer
      decoder.maxFrameBytes = this.o.maxFrameBytes
      clearTimeout(inc.handshakeTimer)
      inc.handshakeTimer = undefined
      this.replaceOlder(inc)
      this.o.log.info('peer connected', { peer: inc.peer, remote: link.remote })
      this.peerIsUp(inc.peer)
    })
    const handlers: LinkHandlers = {
      onOpen: () => {},
      onData: (chunk) => {
        try {
          decoder.push(chunk)
        } catch (err) {
          this.fail(link, errorText(err), { peer: inc.peer, remote: link.remote })
        }
      },
      onDrain: () => {},
      onClose: (reason) => {
        clearTimeout(inc.handshakeTimer)
        this.incoming.delete(inc)
        this.released(link)
        if (this.stopped) return
        this.o.log.debug('inbound connection closed', { peer: inc.peer, remote: link.remote, reason })
        if (inc.peer !== undefined) this.peerLost(inc.peer, link)
      },
    }
    if (this.stopped) {
      link.destroy()
      return handlers
    }
    let pending = 0
    for (const other of this.incoming) if (other.peer === undefined) pending++
    if (pending >= MAX_PENDING_HANDSHAKES) {
      this.o.log.warn('too many unauthenticated connections: closing a new one', { remote: link.remote })
      link.destroy()
      return handlers
    }
    this.incoming.add(inc)
    inc.handshakeTimer = setTimeout(() => this.fail(link, 'handshake timed out', { remote: link.remote }), this.o.handshakeTimeoutMs)
    return handlers
  }

  /**
   * `peer` just proved it is up by dialing us: if our own connection to it waits out a
   * reconnect back-off (grown while it was down: up to `reconnectMaxMs`), dial now, or at the
   * next send. Otherwise a restarted peer would hear nothing from us (a leader's appends) until
   * the back-off ends, which is most of its time to catch up.
   */
  private peerIsUp (peer: PeerId): void {
    const out = this.outgoing.get(peer)
    if (out === undefined || out.link !== undefined || out.reconnectTimer === undefined) return
    clearTimeout(out.reconnectTimer)
    out.reconnectTimer = undefined
    out.failures = 0
    if (out.head < out.queue.length) this.dial(out)
  }

  /** A peer that dials again (e.g. after a restart) supersedes its older connections. */
  private replaceOlder (inc: Incoming): void {
    for (const other of this.incoming) {
      if (other !== inc && other.peer === inc.peer) this.cut(other.link)
    }
  }

  private deliver (from: PeerId, message: unknown): void {
    try {
      this.onMessage(from, message)
    } catch (err) {
      // The handler's bug must not look like the peer's fault and cost the connection.
      this.o.log.error('message handler threw', { from, error: errorText(err) })
    }
  }

  // ---- shared ----

  private fail (link: Link, reason: string, fields: Record<string, unknown>): void {
    this.o.log.warn('closing connection', { ...fields, reason })
    this.cut(link)
  }

  /** Closes `link` on our own initiative: its close is not the peer's doing. */
  private cut (link: Link): void {
    this.cutByUs.add(link)
    link.destroy()
  }

  /** Reports that an authenticated connection with `peer` ended, unless we ended it. */
  private peerLost (peer: PeerId, link: Link | undefined): void {
    if (this.onPeerLost === undefined || link === undefined || this.cutByUs.has(link)) return
    try {
      this.onPeerLost(peer)
    } catch (err) {
      this.o.log.error('peer-lost handler threw', { peer, error: errorText(err) })
    }
  }

  private track (link: Link): void {
    this.closing.set(link, new Promise((resolve) => this.closed.set(link, resolve)))
  }

  private released (link: Link | undefined): void {
    if (link === undefined) return
    this.closed.get(link)?.()
    this.closed.delete(link)
    this.closing.delete(link)
  }
}

function errorText (err: unknown): string {
  if (err instanceof FrameError || err instanceof HandshakeError) return err.message
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err)
}
