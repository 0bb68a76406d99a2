/**
 * The transports' public entry point (`zkpeer/transports`): the three factories, the memory hub
 * for fault injection, and `transportForUrl` to pick a factory from a listen URL.
 */
import { memoryTransport } from './memory.js'
import { tcpTransport } from './tcp.js'
import type { TransportFactory } from './transport.js'
import { schemeOf } from './url.js'
import { wsTransport } from './websocket.js'

export type { MessageHandler, PeerLostHandler, TlsOptions, Transport, TransportFactory, TransportOptions } from './transport.js'
export { MemoryNetwork, memoryTransport } from './memory.js'
export { tcpTransport } from './tcp.js'
export { wsTransport } from './websocket.js'
export { parseTransportUrl, type TransportAddress, type TransportScheme } from './url.js'
export { DEFAULT_MAX_FRAME_BYTES } from './framing.js'
export { DEFAULT_MAX_QUEUE_BYTES } from './options.js'

/**
 * The factory for `url`'s scheme: `tcp:` → {@link tcpTransport} (TLS when the `tls` option is
 * given), `ws:` and `wss:` → {@link wsTransport}, `memory:` → {@link memoryTransport} on the
 * shared hub. Throws TypeError for a string that is not a URL or has another scheme. Only the
 * scheme is read here; the factory validates the rest when started.
 */
export function transportForUrl (url: string): TransportFactory {
  switch (schemeOf(url)) {
    case 'tcp': return tcpTransport
    case 'ws':
    case 'wss': return wsTransport
    case 'memory': return memoryTransport
  }
}
