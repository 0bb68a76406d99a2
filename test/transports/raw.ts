/**
 * Raw clients for transport tests: connect without the transport, write bytes, and report
 * whether the server closed the connection within a bounded time. Always closes what it opens.
 */
import net from 'node:net'
import tls from 'node:tls'
import { WebSocket } from 'ws'
import { parseTransportUrl, type NetworkAddress } from '../../transports/url.js'

/** Raw TCP (or, with `tlsCa`, TLS without a client certificate) to `url`; writes `bytes`; true if the server closed it in time. */
export function rawTcp (url: string, bytes: Buffer, timeoutMs: number, tlsCa?: string): Promise<boolean> {
  const { host, port } = parseTransportUrl(url) as NetworkAddress
  return new Promise((resolve) => {
    const socket = tlsCa === undefined
      ? net.connect({ host, port }, () => socket.write(bytes))
      : tls.connect({ host, port, ca: tlsCa }, () => socket.write(bytes))
    const timer = setTimeout(() => { socket.destroy(); resolve(false) }, timeoutMs)
    socket.on('error', () => {})
    socket.on('data', () => {})
    socket.on('close', () => { clearTimeout(timer); resolve(true) })
  })
}

/** A WebSocket to `url` sending `message` (binary for a Buffer); true if the server closed it in time. */
export function rawWs (url: string, message: Buffer | string, timeoutMs: number, opts: { readonly ca?: string } = {}): Promise<boolean> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, opts)
    const timer = setTimeout(() => { ws.terminate(); resolve(false) }, timeoutMs)
    ws.on('open', () => ws.send(message))
    ws.on('error', () => {})
    ws.on('close', () => { clearTimeout(timer); resolve(true) })
  })
}
