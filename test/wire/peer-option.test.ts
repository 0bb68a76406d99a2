/**
 * Goal: `Peer.start({ zkListen })` serves ZooKeeper's client port for the life of the peer.
 * Method: start a one-member peer with zkListen on port 0, ask `ruok` and `srvr` over a raw
 * socket (and `conf` reports the peer's settings), stop the peer and check the port no longer accepts.
 */
import { connect } from 'node:net'
import t from 'tap'
import { Peer } from '../../lib/index.js'

function ask (port: number, word: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    const sock = connect(port, '127.0.0.1', () => sock.write(word))
    sock.on('data', (d) => chunks.push(d))
    sock.on('end', () => resolve(Buffer.concat(chunks).toString()))
    sock.on('error', reject)
  })
}

t.test('zkListen serves the client port while the peer runs', async (t) => {
  await t.rejects(Peer.start({ id: 'z', zkListen: 'ws://127.0.0.1:0' }), TypeError)
  const peer = await Peer.start({ id: 'z', zkListen: 'tcp://127.0.0.1:0', tickMs: 10, minSessionTimeoutMs: 300, maxSessionTimeoutMs: 7000 })
  await peer.ready()
  const port = Number(new URL(peer.zkUrl!).port)
  t.ok(port > 0, `listening on ${peer.zkUrl}`)
  t.equal(await ask(port, 'ruok'), 'imok')
  t.match(await ask(port, 'srvr'), /Mode: standalone/)
  const conf = await ask(port, 'conf')
  for (const line of ['tickTime=10', 'minSessionTimeout=300', 'maxSessionTimeout=7000', 'maxClientCnxns=1024', 'serverId=z']) {
    t.ok(conf.split('\n').includes(line), `conf reports ${line}`)
  }
  await peer.stop()
  await t.rejects(ask(port, 'ruok'), { code: 'ECONNREFUSED' }, 'the port closes with the peer')
})
