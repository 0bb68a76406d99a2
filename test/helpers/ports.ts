/**
 * Free loopback ports for tests. A port the OS picks for `listen(0)` comes from its ephemeral
 * range, the same range every outgoing connection of every parallel test takes its local port
 * from: between this call and its use one of them could take it (seen as EADDRINUSE in CI).
 * So ports are drawn at random below that range (it starts at 32768 on Linux, 49152 elsewhere),
 * where the OS never hands one out by itself, and each is checked free by listening on it; all
 * `n` listeners are open together so the ports are distinct, then closed.
 */
import net from 'node:net'

/** Lowest and one past the highest port drawn: above the well-known and common service ports, below ephemeral ports. */
const LOW = 20_000
const HIGH = 32_768
/** Draws per port before giving up (a draw fails only if something listens there). */
const DRAWS_PER_PORT = 50

/** Returns `n` distinct TCP ports that were free on `host` (default 127.0.0.1) a moment ago. */
export async function freePorts (n: number, host = '127.0.0.1'): Promise<number[]> {
  const servers: net.Server[] = []
  try {
    for (let draws = 0; servers.length < n; draws++) {
      if (draws >= n * DRAWS_PER_PORT) throw new Error(`found only ${servers.length} of ${n} free ports in ${LOW}–${HIGH - 1} on ${host}`)
      const server = await listenOn(LOW + Math.floor(Math.random() * (HIGH - LOW)), host)
      if (server !== undefined) servers.push(server)
    }
    return servers.map((s) => (s.address() as net.AddressInfo).port)
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))))
  }
}

/** A server listening on `port`, or undefined if the port is taken. */
function listenOn (port: number, host: string): Promise<net.Server | undefined> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', (err: NodeJS.ErrnoException) => { err.code === 'EADDRINUSE' ? resolve(undefined) : reject(err) })
    server.listen(port, host, () => resolve(server))
  })
}
