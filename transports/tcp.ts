/**
 * The TCP transport: `tcp://host:port`, plain `node:net`, or TLS over TCP (`node:tls`) when the
 * `tls` option is given. With TLS both sides present certificates and each requires the
 * other's to be signed by `tls.ca` (mutual TLS); the secret handshake still runs inside.
 * This module only adapts sockets to the {@link Driver} contract; everything else is shared in
 * stream-transport.ts.
 */
import net from 'node:net'
import tls from 'node:tls'
import type { MessageHandler, PeerLostHandler, TlsOptions, Transport, TransportOptions } from './transport.js'
import { resolveOptions } from './options.js'
import { listenOn, startStreamTransport, type Driver, type Link, type LinkHandlers, type Listener } from './stream-transport.js'
import { formatNetworkUrl, parseTransportUrl, type NetworkAddress } from './url.js'

/**
 * Starts a TCP transport listening on `options.listen` (a `tcp://` URL; port 0 picks a free
 * port, see `listenUrl`). Every peer URL must be `tcp://`. Rejects with TypeError on invalid
 * options and with the socket error if it cannot listen. Lost connections go to `onPeerLost`
 * (see stream-transport.ts).
 */
export async function tcpTransport (options: TransportOptions, onMessage: MessageHandler, onPeerLost?: PeerLostHandler): Promise<Transport> {
  const o = resolveOptions(options, ['tcp'])
  return await startStreamTransport(o, tcpDriver(o.listen as NetworkAddress, o.tls, o.handshakeTimeoutMs), onMessage, onPeerLost)
}

function tcpDriver (listen: NetworkAddress, tlsOptions: TlsOptions | undefined, handshakeTimeoutMs: number): Driver {
  return {
    async listen (onInbound) {
      const server = tlsOptions === undefined
        ? net.createServer()
        : tls.createServer({ ...tlsMaterial(tlsOptions), requestCert: true, rejectUnauthorized: true, handshakeTimeout: handshakeTimeoutMs })
      // Every raw socket, including ones still in the TLS handshake, so close() can end them all.
      const sockets = new Set<net.Socket>()
      server.on('connection', (socket: net.Socket) => {
        sockets.add(socket)
        socket.on('close', () => sockets.delete(socket))
      })
      // A failed or timed-out TLS handshake (garbage, wrong CA) only concerns that socket.
      server.on('tlsClientError', (_err: Error, socket: tls.TLSSocket) => socket.destroy())
      server.on(tlsOptions === undefined ? 'connection' : 'secureConnection', (socket: net.Socket) => {
        let handlers: LinkHandlers | undefined
        const link = wrap(socket, () => handlers)
        handlers = onInbound(link)
      })
      const port = await listenOn(server, listen)
      return {
        url: formatNetworkUrl({ ...listen, port }),
        close: () => closeServer(server, sockets),
      } satisfies Listener
    },
    dial (url, handlers) {
      const { host, port } = parseTransportUrl(url) as NetworkAddress
      const socket = tlsOptions === undefined
        ? net.connect({ host, port })
        : tls.connect({ host, port, ...tlsMaterial(tlsOptions), servername: net.isIP(host) === 0 ? host : undefined })
      socket.once(tlsOptions === undefined ? 'connect' : 'secureConnect', () => handlers.onOpen())
      return wrap(socket, () => handlers)
    },
  }
}

function tlsMaterial (o: TlsOptions): tls.SecureContextOptions {
  return o.ca === undefined ? { key: o.key, cert: o.cert } : { key: o.key, cert: o.cert, ca: o.ca }
}

/** Adapts a socket to a Link; `handlers` is read lazily because inbound ones come after. */
function wrap (socket: net.Socket, handlers: () => LinkHandlers | undefined): Link {
  // We batch writes ourselves; Nagle would only add latency to the last small batch.
  socket.setNoDelay(true)
  let error: string | undefined
  socket.on('data', (chunk: Buffer) => handlers()?.onData(chunk))
  socket.on('drain', () => handlers()?.onDrain())
  socket.on('error', (err) => { error = err.message })
  socket.on('close', () => handlers()?.onClose(error))
  return {
    write: (data) => !socket.destroyed && socket.write(data),
    destroy: () => socket.destroy(),
    get remote () {
      return `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`
    },
  }
}

async function closeServer (server: net.Server, sockets: Set<net.Socket>): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()))
  const released = [...sockets].map((s) => new Promise<void>((resolve) => {
    if (s.closed) resolve()
    else s.once('close', () => resolve())
    s.destroy()
  }))
  await Promise.all([closed, ...released])
}
