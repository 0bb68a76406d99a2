/**
 * `Peer.start` options (API.md, Peer): their defaults, and the checks that turn a wrong option
 * into a TypeError saying what was wrong, before anything starts.
 */
import type { Env, Logger } from './env.js'
import type { BinaryLevel } from '../storage/db.js'
import type { Storage } from '../storage/storage.js'
import type { TlsOptions, TransportFactory } from '../transports/transport.js'

/** Options of `Peer.start`. Only `id` is required. */
export interface PeerOptions {
  /** This peer's id, unique in the ensemble. */
  readonly id: string
  /** Where this peer accepts peers: `tcp://host:port`, `ws://host:port[/path]`, `memory://name`. */
  readonly listen?: string
  /** id → URL of every voting member, this one included. Omitted: a one-member ensemble. */
  readonly ensemble?: Readonly<Record<string, string>>
  /**
   * An abstract-level database (any v3 implementation) for the log. Default: in-process memory
   * (nothing survives a restart), kept in plain arrays rather than a MemoryLevel for speed.
   */
  readonly db?: BinaryLevel
  /**
   * A folder for durable storage (created if missing): a write-ahead log of append-only
   * segment files and a snapshot file (`FileStorage`), which survive restarts.
   */
  readonly dataDir?: string
  /** With durable storage, fsync (group-committed) before acknowledging. Default true. */
  readonly sync?: boolean
  /** A ready Storage, instead of `db`/`dataDir` (used by the simulator and tests). */
  readonly storage?: Storage
  /** The transport factory; default chosen by `listen`'s scheme. */
  readonly transport?: TransportFactory
  /** TLS material: `tcp://` becomes TLS over TCP, `wss://` uses it. */
  readonly tls?: TlsOptions
  /** Shared ensemble secret; peers that cannot prove it are refused. */
  readonly secret?: string
  /**
   * Also serve ZooKeeper's client protocol here (`tcp://host:port`; port 0 picks a free one,
   * see `peer.zkUrl`), so existing ZooKeeper clients and tools can use this peer. Off by default.
   */
  readonly zkListen?: string
  readonly tickMs?: number
  readonly electionTicks?: number
  readonly heartbeatTicks?: number
  /** Default session timeout; a session's own request is clamped to [min, max]. */
  readonly sessionTimeoutMs?: number
  readonly minSessionTimeoutMs?: number
  readonly maxSessionTimeoutMs?: number
  /** How often the leader looks for due containers and TTL nodes (ms). Default 1000. */
  readonly reapIntervalMs?: number
  /** Largest znode data accepted, in bytes. Default 1 MiB. */
  readonly maxDataBytes?: number
  /** `user:base64(sha1(user:password))`: a session that authenticates as it is super (bypasses ACLs). */
  readonly superDigest?: string
  /** Take a snapshot once this many entries were applied since the last (at least; grows with the tree). Default 20,000. */
  readonly snapshotEntries?: number
  /** Logger; default writes warnings and errors to stderr (`ZKPEER_LOG=debug|info|warn|error|silent`). */
  readonly log?: Logger
  /** @internal Clock, timers and randomness; the simulator injects its own. */
  readonly env?: Env
}

/** Options with every default filled in. */
export interface ResolvedOptions {
  readonly id: string
  readonly listen: string | undefined
  readonly ensemble: Readonly<Record<string, string>>
  readonly sync: boolean
  readonly tickMs: number
  readonly electionTicks: number
  readonly heartbeatTicks: number
  readonly sessionTimeoutMs: number
  readonly minSessionTimeoutMs: number
  readonly maxSessionTimeoutMs: number
  readonly reapIntervalMs: number
  readonly maxDataBytes: number
  readonly snapshotEntries: number
}

function positiveInt (options: PeerOptions, name: keyof PeerOptions, fallback: number): number {
  const v = options[name] ?? fallback
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
    throw new TypeError(`Peer.start: option ${String(name)} must be a positive integer, got ${JSON.stringify(v)}`)
  }
  return v
}

/** Validates `options` and fills in defaults. Throws TypeError naming the wrong option. */
export function resolveOptions (options: PeerOptions): ResolvedOptions {
  if (options === null || typeof options !== 'object') throw new TypeError('Peer.start needs an options object with at least { id }')
  const { id, listen } = options
  if (typeof id !== 'string' || id.length === 0) throw new TypeError('Peer.start: option id must be a non-empty string')
  if (listen !== undefined && (typeof listen !== 'string' || !/^(tcp|ws|wss|memory):\/\//.test(listen))) {
    throw new TypeError(`Peer.start: option listen must be a tcp://, ws://, wss:// or memory:// URL, got ${JSON.stringify(listen)}`)
  }
  const ensemble = options.ensemble ?? { [id]: listen ?? `memory://${id}` }
  if (typeof ensemble !== 'object' || ensemble === null) throw new TypeError('Peer.start: option ensemble must map peer ids to URLs')
  if (!(id in ensemble)) throw new TypeError(`Peer.start: option ensemble must include this peer's own id ${JSON.stringify(id)}`)
  for (const [peer, url] of Object.entries(ensemble)) {
    if (typeof url !== 'string' || !/^(tcp|ws|wss|memory):\/\//.test(url)) {
      throw new TypeError(`Peer.start: ensemble member ${JSON.stringify(peer)} has a bad URL ${JSON.stringify(url)}`)
    }
  }
  if (Object.keys(ensemble).length > 1 && listen === undefined) {
    throw new TypeError('Peer.start: a peer of a multi-member ensemble needs option listen (where the others reach it)')
  }
  if (options.zkListen !== undefined && (typeof options.zkListen !== 'string' || !/^tcp:\/\//.test(options.zkListen))) {
    throw new TypeError(`Peer.start: option zkListen must be a tcp://host:port URL, got ${JSON.stringify(options.zkListen)}`)
  }
    if (options.dataDir !== undefined && options.db !== undefined) throw new TypeError('Peer.start: give either dataDir or db, not both')
  const minSessionTimeoutMs = positiveInt(options, 'minSessionTimeoutMs', 1_000)
  const maxSessionTimeoutMs = positiveInt(options, 'maxSessionTimeoutMs', 60_000)
  if (minSessionTimeoutMs > maxSessionTimeoutMs) throw new TypeError('Peer.start: minSessionTimeoutMs must not exceed maxSessionTimeoutMs')
  const sessionTimeoutMs = positiveInt(options, 'sessionTimeoutMs', 10_000)
  const tickMs = positiveInt(options, 'tickMs', 50)
  const electionTicks = positiveInt(options, 'electionTicks', 10)
  const heartbeatTicks = positiveInt(options, 'heartbeatTicks', 1)
  if (heartbeatTicks >= electionTicks) throw new TypeError('Peer.start: heartbeatTicks must be less than electionTicks')
  return {
    id,
    listen,
    ensemble,
    sync: options.sync ?? true,
    tickMs,
    electionTicks,
    heartbeatTicks,
    sessionTimeoutMs,
    minSessionTimeoutMs,
    maxSessionTimeoutMs,
    reapIntervalMs: positiveInt(options, 'reapIntervalMs', 1_000),
    maxDataBytes: positiveInt(options, 'maxDataBytes', 1024 * 1024),
    snapshotEntries: positiveInt(options, 'snapshotEntries', 20_000),
  }
}
