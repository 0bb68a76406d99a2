/**
 * Parsing and validation of transport URLs (`tcp://host:port`, `ws://host:port/path`,
 * `wss://…`, `memory://name`). Every malformed URL is refused with a TypeError that quotes it
 * and says what is expected, because these come from configuration written by people.
 */

/** The URL schemes the transports understand. */
export type TransportScheme = 'tcp' | 'ws' | 'wss' | 'memory'

/** A parsed network address (`tcp:`, `ws:`, `wss:`). */
export interface NetworkAddress {
  readonly scheme: 'tcp' | 'ws' | 'wss'
  /** Host name or IP literal, without IPv6 brackets. */
  readonly host: string
  /** 0 only where `allowPortZero` was given (listening on an ephemeral port). */
  readonly port: number
  /** WebSocket request path, `/` when absent; always `/` for tcp. */
  readonly path: string
}

/** A parsed in-process address (`memory://name`). */
export interface MemoryAddress {
  readonly scheme: 'memory'
  readonly name: string
}

/** Any parsed transport address. */
export type TransportAddress = NetworkAddress | MemoryAddress

const SCHEMES: readonly TransportScheme[] = ['tcp', 'ws', 'wss', 'memory']

/**
 * Parses `url`. Throws TypeError when it is not a URL, has an unknown scheme, lacks a host or
 * port (network schemes), carries credentials, a query or a fragment, or (for tcp) a path.
 * Port 0 is refused unless `allowPortZero`, since it cannot be dialed.
 */
export function parseTransportUrl (url: string, opts: { readonly allowPortZero?: boolean } = {}): TransportAddress {
  const scheme = schemeOf(url)
  const u = new URL(url)
  const fail = (what: string): never => {
    throw new TypeError(`invalid transport URL ${JSON.stringify(url)}: ${what}`)
  }
  if (u.username !== '' || u.password !== '') fail('credentials are not allowed')
  if (u.search !== '' || u.hash !== '') fail('query and fragment are not allowed')
  if (scheme === 'memory') {
    // `memory://a/b` names the endpoint "a/b"; the name is opaque, only equality matters.
    const name = decodeURIComponent(u.host + (u.pathname === '/' ? '' : u.pathname))
    if (name === '') fail('expected memory://name')
    return { scheme, name }
  }
  if (u.hostname === '') fail(`expected ${scheme}://host:port`)
  if (u.port === '' && scheme === 'tcp') fail('a port is required, e.g. tcp://127.0.0.1:7001')
  const port = u.port === '' ? (scheme === 'wss' ? 443 : 80) : Number(u.port)
  if (port === 0 && opts.allowPortZero !== true) fail('port 0 can only be listened on, not dialed')
  const path = u.pathname === '' ? '/' : u.pathname
  if (scheme === 'tcp' && path !== '/') fail('tcp URLs take no path')
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname
  return { scheme, host, port, path }
}

/**
 * Returns the scheme of `url` without the colon. Throws TypeError for a string that is not an
 * absolute URL or whose scheme is not one of tcp, ws, wss, memory.
 */
export function schemeOf (url: string): TransportScheme {
  let protocol: string
  try {
    protocol = new URL(url).protocol
  } catch {
    throw new TypeError(`invalid transport URL ${JSON.stringify(url)}: not an absolute URL such as tcp://127.0.0.1:7001`)
  }
  const scheme = protocol.slice(0, -1)
  const known = SCHEMES.find((s) => s === scheme)
  if (known === undefined) {
    throw new TypeError(`unsupported transport URL scheme ${JSON.stringify(protocol)} in ${JSON.stringify(url)}: expected one of ${SCHEMES.map((s) => s + ':').join(', ')}`)
  }
  return known
}

/** Formats a network address back to a URL (IPv6 literals bracketed). */
export function formatNetworkUrl (a: NetworkAddress): string {
  const host = a.host.includes(':') ? `[${a.host}]` : a.host
  return `${a.scheme}://${host}:${a.port}${a.scheme === 'tcp' || a.path === '/' ? '' : a.path}`
}
