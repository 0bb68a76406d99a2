/**
 * Validation of {@link TransportOptions} and their defaults, shared by every transport so that
 * a bad configuration fails the same way everywhere: with a TypeError naming the field, at
 * start, never later on the first send.
 */
import { silentLogger, type Logger } from '../lib/env.js'
import type { PeerId } from '../lib/consensus/types.js'
import { DEFAULT_MAX_FRAME_BYTES } from './framing.js'
import { DEFAULT_HANDSHAKE_TIMEOUT_MS } from './handshake.js'
import type { TlsOptions, TransportOptions } from './transport.js'
import { parseTransportUrl, type TransportAddress, type TransportScheme } from './url.js'

/** Default per-peer send queue bound (64 MiB). */
export const DEFAULT_MAX_QUEUE_BYTES = 64 * 1024 * 1024
/** Default first reconnect delay; doubles per failed attempt. */
export const DEFAULT_RECONNECT_MIN_MS = 50
/** Default cap on the reconnect delay. */
export const DEFAULT_RECONNECT_MAX_MS = 5000

/** Options with defaults applied and URLs parsed. `peers` excludes this peer itself. */
export interface ResolvedOptions {
  readonly id: PeerId
  readonly listen: TransportAddress
  readonly peers: ReadonlyMap<PeerId, { readonly url: string, readonly address: TransportAddress }>
  readonly secret: string | undefined
  readonly tls: TlsOptions | undefined
  readonly maxFrameBytes: number
  readonly maxQueueBytes: number
  readonly handshakeTimeoutMs: number
  readonly reconnectMinMs: number
  readonly reconnectMaxMs: number
  readonly log: Logger
}

/**
 * Validates `options` for a transport that accepts the URL schemes `schemes` (the listen URL
 * and every peer URL must use one of them). Throws TypeError naming the offending field.
 */
export function resolveOptions (options: TransportOptions, schemes: readonly TransportScheme[]): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw new TypeError('transport options must be an object')
  const { id } = options
  if (typeof id !== 'string' || id === '') throw new TypeError('transport option "id" must be a non-empty string')
  const listen = addressIn(options.listen, schemes, 'listen', true)
  if (typeof options.peers !== 'object' || options.peers === null) throw new TypeError('transport option "peers" must be an object of id → URL')
  const peers = new Map<PeerId, { url: string, address: TransportAddress }>()
  for (const [peer, url] of Object.entries(options.peers)) {
    if (peer === id) continue
    peers.set(peer, { url, address: addressIn(url, schemes, `peers.${peer}`, false) })
  }
  if (options.secret !== undefined && (typeof options.secret !== 'string' || options.secret === '')) {
    throw new TypeError('transport option "secret" must be a non-empty string when given')
  }
  const tls = options.tls
  if (tls !== undefined && (tls.key === undefined || tls.cert === undefined)) {
    throw new TypeError('transport option "tls" needs "key" and "cert"')
  }
  const reconnectMinMs = positive(options.reconnectMinMs, DEFAULT_RECONNECT_MIN_MS, 'reconnectMinMs')
  const reconnectMaxMs = positive(options.reconnectMaxMs, DEFAULT_RECONNECT_MAX_MS, 'reconnectMaxMs')
  if (reconnectMaxMs < reconnectMinMs) throw new TypeError('transport option "reconnectMaxMs" must be >= "reconnectMinMs"')
  return {
    id,
    listen,
    peers,
    secret: options.secret,
    tls,
    // The frame header is 32 bits, so no frame can be longer than 2^32 - 1 bytes.
    maxFrameBytes: Math.min(positive(options.maxFrameBytes, DEFAULT_MAX_FRAME_BYTES, 'maxFrameBytes'), 0xffffffff),
    maxQueueBytes: positive(options.maxQueueBytes, DEFAULT_MAX_QUEUE_BYTES, 'maxQueueBytes'),
    handshakeTimeoutMs: positive(options.handshakeTimeoutMs, DEFAULT_HANDSHAKE_TIMEOUT_MS, 'handshakeTimeoutMs'),
    reconnectMinMs,
    reconnectMaxMs,
    log: options.log ?? silentLogger,
  }
}

function addressIn (url: unknown, schemes: readonly TransportScheme[], field: string, listening: boolean): TransportAddress {
  if (typeof url !== 'string') throw new TypeError(`transport option "${field}" must be a URL string`)
  const address = parseTransportUrl(url, { allowPortZero: listening })
  if (!schemes.includes(address.scheme)) {
    throw new TypeError(`transport option "${field}" is ${JSON.stringify(url)}, but this transport takes only ${schemes.map((s) => s + '://').join(' or ')} URLs`)
  }
  return address
}

function positive (value: number | undefined, fallback: number, field: string): number {
  if (value === undefined) return fallback
  if (!Number.isSafeInteger(value) || value <= 0) throw new TypeError(`transport option "${field}" must be a positive integer`)
  return value
}
