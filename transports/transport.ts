/**
 * How peers reach each other. One small interface with three implementations (memory, TCP,
 * WebSocket); each passes the shared conformance suite in test/conformance/.
 *
 * A transport carries plain messages (objects of numbers, strings, booleans, arrays,
 * Uint8Arrays and nested objects) between authenticated peers. Delivery is best-effort and
 * ordered per connection; the consensus core tolerates loss, so a full queue drops rather than
 * grows.
 */
import type { Logger } from '../lib/env.js'
import type { PeerId } from '../lib/consensus/types.js'

/** Called for every message from an authenticated peer. */
export type MessageHandler = (from: PeerId, message: unknown) => void

/**
 * Called when a connection with an authenticated peer ended without this transport closing it:
 * the other side closed it or it failed (a process killed with SIGKILL has its sockets closed by
 * its kernel at once, so this arrives long before any timeout would notice). A hint, not a
 * verdict: the peer may be alive and reconnect; one failure may be reported more than once
 * (once per connection); it is never reported after `stop()`. Never called inside `send`.
 */
export type PeerLostHandler = (peer: PeerId) => void

/** TLS material for `tcp://` (becomes TLS over TCP) and `wss://`. PEM strings or buffers. */
export interface TlsOptions {
  readonly key: string | Buffer
  readonly cert: string | Buffer
  readonly ca?: string | Buffer
}

/** What every transport is configured with. */
export interface TransportOptions {
  /** This peer's id. */
  readonly id: PeerId
  /** Where to accept connections from peers, e.g. `tcp://127.0.0.1:7001`. */
  readonly listen: string
  /** Every other peer's id → URL (this peer may be included; it is skipped). */
  readonly peers: Readonly<Record<PeerId, string>>
  /** Shared ensemble secret; a peer that cannot prove it is refused. Never sent in clear. */
  readonly secret?: string
  readonly tls?: TlsOptions
  /** Frames above this many bytes close the connection (default 16 MiB). */
  readonly maxFrameBytes?: number
  /** Bytes queued for one peer beyond which new messages to it are dropped (default 64 MiB). */
  readonly maxQueueBytes?: number
  /** Time allowed for a connection's authentication handshake before it is closed (default 5000). */
  readonly handshakeTimeoutMs?: number
  /** First reconnect delay after a failed connection; doubles per failure, jittered (default 50). */
  readonly reconnectMinMs?: number
  /** Cap on the reconnect delay (default 5000). */
  readonly reconnectMaxMs?: number
  readonly log?: Logger
}

/** A started transport. */
export interface Transport {
  /** The URL actually listened on (a requested port 0 is resolved). */
  readonly listenUrl: string
  /**
   * Queues `message` for peer `to`, connecting (with back-off) if needed. Returns false when it
   * was dropped (unknown peer, queue full, stopped). Never throws for network conditions.
   */
  send (to: PeerId, message: unknown): boolean
  /** Stops listening, closes every connection and timer. Idempotent. */
  stop (): Promise<void>
}

/**
 * Starts a transport that delivers incoming messages to `onMessage` and reports lost
 * connections to `onPeerLost` (optional: a transport that cannot tell may never call it).
 */
export type TransportFactory = (options: TransportOptions, onMessage: MessageHandler, onPeerLost?: PeerLostHandler) => Promise<Transport>
