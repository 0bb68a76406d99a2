/**
 * The in-process transport (`memory://name`) and its hub, {@link MemoryNetwork}, which tests
 * and simulations use to inject faults: one-way drops, partitions and delay.
 *
 * It behaves like the network transports where the conformance suite can see it: messages are
 * msgpack-encoded on send and decoded on delivery (so the receiver gets a copy and a
 * non-encodable message fails the same way), the secret and peer-id checks refuse a
 * connection, frames over the receiver's `maxFrameBytes` are refused, and messages to a peer
 * that is down wait in a queue bounded by `maxQueueBytes`, then go out when it comes up. An
 * endpoint that stops is reported lost (`onPeerLost`) to every endpoint it was connected to
 * (both list each other and share the secret), as a killed process's closed sockets would be.
 *
 * Invariants: delivery is always asynchronous (never inside `send`), in send order per pair of
 * peers; a message counts against the sender's queue until it is delivered or lost; after
 * `stop()` no timer or immediate of the endpoint remains, and it reports no lost peer.
 */
import type { Logger } from '../lib/env.js'
import type { PeerId } from '../lib/consensus/types.js'
import { decodePayload, encodePayload } from './framing.js'
import { resolveOptions, type ResolvedOptions } from './options.js'
import type { MessageHandler, PeerLostHandler, Transport, TransportFactory, TransportOptions } from './transport.js'
import type { MemoryAddress } from './url.js'

/** One message on its way from one endpoint to one peer. */
interface InFlight {
  readonly payload: Buffer
  /** When it may be delivered: send time plus the delay then in force. */
  readonly dueMs: number
}

/** Outgoing state of one endpoint towards one peer. */
interface Lane {
  readonly to: PeerId
  readonly name: string
  readonly queue: InFlight[]
  queuedBytes: number
  fullLogged: boolean
  /** Why the last connection attempt was refused, so each new reason is logged once. */
  refusal: string | undefined
  pump: NodeJS.Immediate | NodeJS.Timeout | undefined
}

/**
 * A hub of in-process endpoints. Each `memory://name` listen URL is one endpoint; two hubs
 * never see each other. Fault hooks take peer ids, act on messages not yet delivered, and last
 * until {@link MemoryNetwork.heal}.
 */
export class MemoryNetwork {
  /** The hub used by the exported `memoryTransport` factory. */
  static readonly shared = new MemoryNetwork()

  private readonly endpoints = new Map<string, MemoryEndpoint>()
  private readonly dropped = new Set<string>()
  private groupOf: ReadonlyMap<PeerId, number> | undefined
  private delayMs = 0

  /**
   * A {@link TransportFactory} for endpoints on this hub. Rejects with TypeError on invalid
   * options, and with an Error when the listen name is already taken on this hub.
   */
  readonly transport: TransportFactory = async (options: TransportOptions, onMessage: MessageHandler, onPeerLost?: PeerLostHandler): Promise<Transport> => {
    const o = resolveOptions(options, ['memory'])
    const name = (o.listen as MemoryAddress).name
    if (this.endpoints.has(name)) throw new Error(`memory://${name} is already in use on this network`)
    const endpoint = new MemoryEndpoint(this, o, name, onMessage, onPeerLost)
    this.endpoints.set(name, endpoint)
    // Peers that were waiting for this one can now deliver.
    for (const other of this.endpoints.values()) other.peerUp(name)
    return endpoint
  }

  /** One-way fault: messages from `from` to `to` are lost (the reverse direction is unaffected). */
  drop (from: PeerId, to: PeerId): void {
    this.dropped.add(pairKey(from, to))
  }

  /**
   * Splits peers into `groups`: messages flow only within a group. Peers named in no group
   * together form one more group. Replaces any previous partition.
   */
  partition (groups: ReadonlyArray<readonly PeerId[]>): void {
    const groupOf = new Map<PeerId, number>()
    groups.forEach((g, i) => { for (const id of g) groupOf.set(id, i) })
    this.groupOf = groupOf
  }

  /**
   * Adds `ms` of latency to every message sent from now on (0 restores immediate delivery).
   * Per pair, order is kept: a message never overtakes an earlier, more delayed one.
   */
  delay (ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new TypeError('delay must be a non-negative number of milliseconds')
    this.delayMs = ms
  }

  /**
   * Reports the connection between peers `a` and `b` lost to both, as a connection reset
   * would, while both stay up and no message is lost: what a spurious disconnect looks like.
   */
  disconnect (a: PeerId, b: PeerId): void {
    const ea = this.endpointOf(a)
    const eb = this.endpointOf(b)
    if (ea === undefined || eb === undefined) return
    ea.lost(eb)
    eb.lost(ea)
  }

  /** Removes every drop, partition and delay. */
  heal (): void {
    this.dropped.clear()
    this.groupOf = undefined
    this.delayMs = 0
  }

  /** Whether a message from `from` to `to` would be lost now. */
  isBlocked (from: PeerId, to: PeerId): boolean {
    if (this.dropped.has(pairKey(from, to))) return true
    const g = this.groupOf
    return g !== undefined && (g.get(from) ?? -1) !== (g.get(to) ?? -1)
  }

  /** @internal Current latency for new messages. */
  latencyMs (): number {
    return this.delayMs
  }

  /** @internal The endpoint listening on `name`, if any. */
  endpoint (name: string): MemoryEndpoint | undefined {
    return this.endpoints.get(name)
  }

  /** @internal Called by an endpoint's stop: the others connected to it see it lost. */
  remove (endpoint: MemoryEndpoint): void {
    if (this.endpoints.get(endpoint.name) !== endpoint) return
    this.endpoints.delete(endpoint.name)
    for (const other of this.endpoints.values()) other.lost(endpoint)
  }

  private endpointOf (id: PeerId): MemoryEndpoint | undefined {
    for (const e of this.endpoints.values()) if (e.o.id === id) return e
    return undefined
  }
}

function pairKey (from: PeerId, to: PeerId): string {
  return JSON.stringify([from, to])
}

/** One started memory transport. */
class MemoryEndpoint implements Transport {
  readonly listenUrl: string
  private stopped = false
  private readonly lanes = new Map<PeerId, Lane>()
  private readonly log: Logger
  /** Pending lost-peer reports, cancelled by stop. */
  private readonly lostReports = new Set<NodeJS.Immediate>()

  constructor (private readonly network: MemoryNetwork, readonly o: ResolvedOptions, readonly name: string, private readonly onMessage: MessageHandler, private readonly onPeerLost: PeerLostHandler | undefined) {
    this.listenUrl = `memory://${name}`
    this.log = o.log
    for (const [to, { address }] of o.peers) {
      this.lanes.set(to, { to, name: (address as MemoryAddress).name, queue: [], queuedBytes: 0, fullLogged: false, refusal: undefined, pump: undefined })
    }
  }

  send (to: PeerId, message: unknown): boolean {
    if (this.stopped) return false
    const lane = this.lanes.get(to)
    if (lane === undefined) return false
    const payload = encodePayload(message)
    if (payload.length > this.o.maxFrameBytes) {
      this.log.warn('message dropped: larger than maxFrameBytes', { to, bytes: payload.length, maxFrameBytes: this.o.maxFrameBytes })
      return false
    }
    if (lane.queuedBytes + payload.length > this.o.maxQueueBytes) {
      if (!lane.fullLogged) {
        lane.fullLogged = true
        this.log.warn('send queue full: dropping messages', { to, queuedBytes: lane.queuedBytes, maxQueueBytes: this.o.maxQueueBytes })
      }
      return false
    }
    // Never before the message ahead of it, so a delay lowered later cannot reorder the pair.
    const dueMs = Math.max(performance.now() + this.network.latencyMs(), lane.queue.at(-1)?.dueMs ?? 0)
    lane.queue.push({ payload, dueMs })
    lane.queuedBytes += payload.length
    if (lane.pump === undefined) this.schedule(lane, 0)
    return true
  }

  async stop (): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    for (const lane of this.lanes.values()) {
      this.cancel(lane)
      lane.queue.length = 0
      lane.queuedBytes = 0
    }
    for (const report of this.lostReports) clearImmediate(report)
    this.lostReports.clear()
    this.network.remove(this)
  }

  /**
   * @internal The connection with `peer` ended (it stopped, or a simulated reset): reported
   * asynchronously to `onPeerLost` if the two were connected, i.e. accept each other.
   */
  lost (peer: MemoryEndpoint): void {
    const lane = this.lanes.get(peer.o.id)
    if (this.stopped || this.onPeerLost === undefined || lane?.name !== peer.name || refusal(this, lane, peer) !== undefined) return
    const report = setImmediate(() => {
      this.lostReports.delete(report)
      if (!this.stopped) this.onPeerLost?.(peer.o.id)
    })
    this.lostReports.add(report)
  }

  /** @internal The endpoint listening on `name` (re)started: retry what waits for it. */
  peerUp (name: string): void {
    if (this.stopped) return
    for (const lane of this.lanes.values()) {
      if (lane.name !== name) continue
      lane.refusal = undefined
      if (lane.queue.length > 0 && lane.pump === undefined) this.schedule(lane, 0)
    }
  }

  /** @internal Accepts one message from `from` (already checked against this endpoint's limits). */
  receive (from: PeerId, payload: Buffer): void {
    if (this.stopped) return
    let message: unknown
    try {
      message = decodePayload(payload)
    } catch (err) {
      this.log.warn('closing connection', { peer: from, reason: `undecodable: ${String(err)}` })
      return
    }
    try {
      this.onMessage(from, message)
    } catch (err) {
      this.log.error('message handler threw', { from, error: String(err) })
    }
  }

  private schedule (lane: Lane, ms: number): void {
    lane.pump = ms <= 0
      ? setImmediate(() => this.pump(lane))
      : setTimeout(() => this.pump(lane), ms)
  }

  private cancel (lane: Lane): void {
    clearImmediate(lane.pump as NodeJS.Immediate)
    clearTimeout(lane.pump as NodeJS.Timeout)
    lane.pump = undefined
  }

  /** Delivers every due message at the head of `lane`, then re-arms for the next one. */
  private pump (lane: Lane): void {
    lane.pump = undefined
    if (this.stopped) return
    const peer = this.connect(lane)
    if (peer === undefined) return // waits for peerUp
    // Only what was queued when this turn began, so a reply storm cannot starve the loop.
    let budget = lane.queue.length
    let i = 0
    while (i < lane.queue.length && budget-- > 0) {
      const item = lane.queue[i] as InFlight
      if (item.dueMs > performance.now()) break
      i++
      lane.queuedBytes -= item.payload.length
      if (this.network.isBlocked(this.o.id, lane.to)) continue
      if (item.payload.length > peer.o.maxFrameBytes) {
        peer.log.warn('closing connection', { peer: this.o.id, reason: `oversize: frame of ${item.payload.length} bytes exceeds limit of ${peer.o.maxFrameBytes}` })
        continue
      }
      peer.receive(this.o.id, item.payload)
      if (this.stopped) return
    }
    lane.queue.splice(0, i)
    if (lane.queuedBytes < this.o.maxQueueBytes / 2) lane.fullLogged = false
    const head = lane.queue[0]
    if (head !== undefined && lane.pump === undefined) {
      this.schedule(lane, Math.ceil(head.dueMs - performance.now()))
    }
  }

  /** The endpoint for `lane` if it is up and both sides accept each other, logging refusals. */
  private connect (lane: Lane): MemoryEndpoint | undefined {
    const peer = this.network.endpoint(lane.name)
    const why = peer === undefined ? undefined : refusal(this, lane, peer)
    if (why !== lane.refusal && why !== undefined) {
      this.log.warn('connection refused', { peer: lane.to, reason: why })
      peer?.log.warn('closing connection', { peer: this.o.id, reason: why })
    }
    lane.refusal = why
    return peer === undefined || why !== undefined ? undefined : peer
  }
}

/** Why `peer` (listening where `lane` of `from` leads) refuses `from`, or undefined if it accepts. */
function refusal (from: MemoryEndpoint, lane: Lane, peer: MemoryEndpoint): string | undefined {
  return peer.o.id !== lane.to
    ? `dialed ${lane.to} but ${peer.o.id} answered`
    : !peer.o.peers.has(from.o.id)
        ? `peer id ${from.o.id} is not in ${lane.to}'s configured peers`
        : peer.o.secret !== from.o.secret
          ? 'ensemble secrets differ'
          : undefined
}

/** Starts a memory transport on the shared {@link MemoryNetwork} (see `MemoryNetwork.transport`). */
export const memoryTransport: TransportFactory = (options, onMessage) => MemoryNetwork.shared.transport(options, onMessage)
