/**
 * Free loopback ports for tests. Each port is found by listening on port 0 and reading what
 * the OS picked; all `n` listeners are open together so the ports are distinct, then closed.
 * Another process may grab a port between this call and its use; on loopback in a test run
 * that is rare, and the caller sees EADDRINUSE rather than a wrong result.
 */
import net from 'node:net'

/** Returns `n` distinct TCP ports that were free on `host` (default 127.0.0.1) a moment ago. */
export async function freePorts (n: number, host = '127.0.0.1'): Promise<number[]> {
  const listening = await Promise.allSettled(Array.from({ length: n }, () => new Promise<net.Server>((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, host, () => resolve(server))
  })))
  const servers = listening.flatMap((r) => r.status === 'fulfilled' ? [r.value] : [])
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port)
  // Close even when some listen failed, so a failure leaves no server behind.
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))))
  const failed = listening.find((r): r is PromiseRejectedResult => r.status === 'rejected')
  if (failed !== undefined) throw failed.reason
  return ports
}
