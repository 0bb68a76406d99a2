/**
 * The WebSocket transport (`ws` package): `ws://host:port[/path]`, or `wss://` with the `tls`
 * option (mutual TLS: each side requires the other's certificate signed by `tls.ca`). Each
 * WebSocket binary message carries one batch of length-prefixed frames, decoded exactly as on
 * TCP; text messages are refused. This module only adapts `ws` to the {@link Driver} contract.
 */
import http from 'node:http'
import https from 'node:https'
import type net from 'node:net'
import type { ClientOptions, WebSocket } from 'ws'
import { FRAME_HEADER_BYTES } from './framing.js'
import { resolveOptions, type ResolvedOptions } from './options.js'
import { BATCH_BYTES, listenOn, startStreamTransport, type Driver, type Link, type LinkHandlers, type Listener } from './stream-transport.js'
import type { MessageHandler, PeerLostHandler, Transport, TransportOptions } from './transport.js'
import { formatNetworkUrl, type NetworkAddress } from './url.js'

/** Bytes buffered in one WebSocket beyond which `write` reports back-pressure. */
const HIGH_WATER_BYTES = 1024 * 1024

/**
 * Starts a WebSocket transport listening on `options.listen` (`ws://` or, with `tls`,
 * `wss://`; port 0 picks a free port; a path, if given, is the only one accepted). Peer URLs
 * must all be `ws://` (without tls) or all `wss://` (with tls). Rejects with TypeError on
 * invalid options and with the socket error if it cannot listen. Lost connections go to
 * `onPeerLost` (see stream-transport.ts).
 */
export async function wsTransport (options: TransportOptions, onMessage: MessageHandler, onPeerLost?: PeerLostHandler): Promise<Transport> {
  const scheme = options.tls === undefined ? 'ws' : 'wss'
  const o = resolveOptions(options, [scheme])
  // Loaded on first use, so that processes whose peers talk TCP never load it.
  const ws = await import('ws')
  return await startStreamTransport(o, wsDriver(o, ws), onMessage, onPeerLost)
}

function wsDriver (o: ResolvedOptions, { WebSocket, WebSocketServer }: typeof import('ws')): Driver {
  const listen = o.listen as NetworkAddress
  // A message is one batch: at most BATCH_BYTES, or one frame alone when larger.
  const maxPayload = Math.max(BATCH_BYTES, o.maxFrameBytes + FRAME_HEADER_BYTES)
  const tls = o.tls === undefined
    ? undefined
    : { key: o.tls.key, cert: o.tls.cert, ...(o.tls.ca === undefined ? {} : { ca: o.tls.ca }) }
  return {
    async listen (onInbound) {
      const server = tls === undefined
        ? http.createServer()
        : https.createServer({ ...tls, requestCert: true, rejectUnauthorized: true, handshakeTimeout: o.handshakeTimeoutMs })
      server.on('request', (_req, res) => res.writeHead(426, { connection: 'close' }).end('WebSocket only\n'))
      // A failed or timed-out TLS handshake (garbage, wrong CA) only concerns that socket.
      server.on('tlsClientError', (_err: Error, socket: net.Socket) => socket.destroy())
      // Every raw socket, with a deadline until its upgrade: http's own header timeouts are
      // checked only every 30 s, too lax a bound for an unauthenticated connection.
      // With TLS the deadline is keyed by the TLS socket, which is what 'upgrade' receives.
      const sockets = new Set<net.Socket>()
      const deadlines = new Map<net.Socket, NodeJS.Timeout>()
      server.on('connection', (socket: net.Socket) => {
        sockets.add(socket)
        socket.on('close', () => sockets.delete(socket))
      })
      server.on(tls === undefined ? 'connection' : 'secureConnection', (socket: net.Socket) => {
        deadlines.set(socket, setTimeout(() => socket.destroy(), o.handshakeTimeoutMs))
        socket.on('close', () => {
          clearTimeout(deadlines.get(socket))
          deadlines.delete(socket)
        })
      })
      // Upgrades are handled here rather than by WebSocketServer's own server, so the path
      // check and the shutdown of half-open sockets stay in our hands.
      const wss = new WebSocketServer({ noServer: true, maxPayload, perMessageDeflate: false, clientTracking: false })
      server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
        // From here the transport's own handshake deadline applies.
        clearTimeout(deadlines.get(socket))
        deadlines.delete(socket)
        const path = new URL(req.url ?? '/', 'ws://x').pathname
        if (listen.path !== '/' && path !== listen.path) {
          socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n')
          return
        }
        wss.handleUpgrade(req, socket, head, (ws) => {
          let handlers: LinkHandlers | undefined
          const link = wrap(ws, `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`, () => handlers)
          handlers = onInbound(link)
        })
      })
      const port = await listenOn(server, listen)
      return {
        url: formatNetworkUrl({ ...listen, port }),
        close: async () => {
          const closed = new Promise<void>((resolve) => server.close(() => resolve()))
          const released = [...sockets].map((s) => new Promise<void>((resolve) => {
            if (s.closed) resolve()
            else s.once('close', () => resolve())
            s.destroy()
          }))
          wss.close()
          await Promise.all([closed, ...released])
        },
      } satisfies Listener
    },
    dial (url, handlers) {
      const options: ClientOptions = { perMessageDeflate: false, maxPayload, handshakeTimeout: o.handshakeTimeoutMs, ...tls }
      const ws = new WebSocket(url, options)
      ws.once('open', () => handlers.onOpen())
      return wrap(ws, url, () => handlers)
    },
  }
}

/** Adapts a WebSocket to a Link; `handlers` is read lazily because inbound ones come after. */
function wrap (ws: WebSocket, remote: string, handlers: () => LinkHandlers | undefined): Link {
  ws.binaryType = 'nodebuffer'
  let error: string | undefined
  let draining = false
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (!isBinary) {
      error = 'text message on a binary protocol'
      ws.terminate()
      return
    }
    handlers()?.onData(data)
  })
  ws.on('error', (err) => { error = err.message })
  ws.on('close', () => handlers()?.onClose(error))
  // ws has no 'drain' event: the send callback runs once a message has left the buffer.
  const sent = (): void => {
    if (draining && ws.bufferedAmount < HIGH_WATER_BYTES) {
      draining = false
      handlers()?.onDrain()
    }
  }
  return {
    write (data) {
      if (ws.readyState !== ws.OPEN) return false
      ws.send(data, { binary: true }, sent)
      draining = ws.bufferedAmount >= HIGH_WATER_BYTES
      return !draining
    },
    destroy: () => ws.terminate(),
    remote,
  }
}
