/**
 * Goal: the WebSocket transport passes the transport conformance suite, including clients
 * that send garbage at the WebSocket level and at the HTTP level, and honours its URL path.
 * Method: fresh loopback ports per group (freePorts); raw `ws` clients and raw TCP sockets.
 */
import t from 'tap'
import { wsTransport } from '../../transports/websocket.js'
import { sleep, startGroup, transportSuite } from '../conformance/transport-suite.js'
import { freePorts } from '../helpers/ports.js'
import { rawTcp, rawWs } from './raw.js'

transportSuite({
  name: 'ws',
  createGroup: async (size, opts) => startGroup(wsTransport, (await freePorts(size)).map((p) => `ws://127.0.0.1:${p}/zk`), opts),
  sendRaw: rawWs,
})

t.test('ws: HTTP garbage, text messages and wrong paths are closed', async (tt) => {
  const [port] = await freePorts(1)
  const url = `ws://127.0.0.1:${port ?? 0}/zk`
  const inbox: unknown[] = []
  const tr = await wsTransport({ id: 'a', listen: url, peers: { b: 'ws://127.0.0.1:1/zk' } }, (_f, m) => inbox.push(m))
  tt.teardown(() => tr.stop())
  tt.equal(await rawTcp(`tcp://127.0.0.1:${port ?? 0}`, Buffer.from('GARBAGE\r\n\r\n'), 3000), true, 'not HTTP')
  tt.equal(await rawWs(`ws://127.0.0.1:${port ?? 0}/other`, Buffer.from([1]), 3000), true, 'wrong path')
  tt.equal(await rawWs(url, 'hello', 3000), true, 'text message')
  await sleep(20)
  tt.same(inbox, [])
})
