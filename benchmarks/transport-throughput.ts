/**
 * Question: how many small (~150-byte) messages per second does one transport deliver to
 * another over loopback, for tcp and ws? Both transports run in this process, so the figure
 * includes encoding, framing, the socket round trip and decoding on one core.
 * Method: the sender sends in bursts of 1000 and yields a loop turn between bursts (like a
 * peer handling I/O); a send refused by the queue bound is retried after a turn. The clock
 * stops when the receiver has all messages. Run: node dist/benchmarks/transport-throughput.js
 */
import { encodeFrame } from '../transports/framing.js'
import { tcpTransport } from '../transports/tcp.js'
import type { TransportFactory } from '../transports/transport.js'
import { wsTransport } from '../transports/websocket.js'
import { freePorts } from '../test/helpers/ports.js'

const MESSAGES = Number(process.env.MESSAGES ?? 500_000)
const BURST = 1000
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

async function measure (name: string, factory: TransportFactory, scheme: string): Promise<void> {
  const [pa, pb] = await freePorts(2)
  const peers = { a: `${scheme}://127.0.0.1:${pa ?? 0}`, b: `${scheme}://127.0.0.1:${pb ?? 0}` }
  let received = 0
  let done: () => void = () => {}
  const finished = new Promise<void>((resolve) => { done = resolve })
  const b = await factory({ id: 'b', listen: peers.b, peers, secret: 's' }, () => { if (++received === MESSAGES) done() })
  const a = await factory({ id: 'a', listen: peers.a, peers, secret: 's' }, () => {})
  // A message shaped like a consensus append: a few numbers and ~100 bytes of entry data.
  const message = (n: number): unknown => ({ type: 'app', from: 'a', to: 'b', term: 7, index: n, commit: n - 1, data: new Uint8Array(100) })
  const bytes = encodeFrame(message(1)).length
  a.send('b', message(0)) // connect first, so the figure excludes the handshake
  while (received < 1) await turn()
  received = 0
  const started = performance.now()
  for (let n = 0; n < MESSAGES;) {
    for (let k = 0; k < BURST && n < MESSAGES; k++) {
      if (a.send('b', message(n))) n++
      else break
    }
    await turn()
  }
  await finished
  const seconds = (performance.now() - started) / 1000
  console.log(`${name}: ${MESSAGES} messages of ${bytes} bytes in ${seconds.toFixed(2)} s = ${Math.round(MESSAGES / seconds).toLocaleString('en-US')} msg/s`)
  await Promise.all([a.stop(), b.stop()])
}

await measure('tcp', tcpTransport, 'tcp')
await measure('ws', wsTransport, 'ws')
