/**
 * Goal: transport URLs and options are validated with clear TypeErrors, and transportForUrl
 * picks the factory by scheme.
 * Method: pure calls; the only transports started fail validation before listening.
 */
import t from 'tap'
import { memoryTransport, tcpTransport, transportForUrl, wsTransport } from '../../transports/index.js'
import { parseTransportUrl } from '../../transports/url.js'

t.test('transportForUrl chooses by scheme', async (tt) => {
  tt.equal(transportForUrl('tcp://127.0.0.1:1'), tcpTransport)
  tt.equal(transportForUrl('ws://127.0.0.1:1/x'), wsTransport)
  tt.equal(transportForUrl('wss://h:1'), wsTransport)
  tt.equal(transportForUrl('memory://x'), memoryTransport)
  tt.throws(() => transportForUrl('http://h:1'), { name: 'TypeError', message: /unsupported transport URL scheme "http:"/ })
  tt.throws(() => transportForUrl('127.0.0.1:7001'), TypeError)
  tt.throws(() => transportForUrl('not a url'), { name: 'TypeError', message: /not an absolute URL/ })
})

t.test('parseTransportUrl validates each part', async (tt) => {
  tt.same(parseTransportUrl('tcp://127.0.0.1:7001'), { scheme: 'tcp', host: '127.0.0.1', port: 7001, path: '/' })
  tt.same(parseTransportUrl('ws://[::1]:80/zk'), { scheme: 'ws', host: '::1', port: 80, path: '/zk' })
  tt.same(parseTransportUrl('wss://example.com/zk'), { scheme: 'wss', host: 'example.com', port: 443, path: '/zk' })
  tt.same(parseTransportUrl('memory://a/b'), { scheme: 'memory', name: 'a/b' })
  tt.same(parseTransportUrl('tcp://h:0', { allowPortZero: true }), { scheme: 'tcp', host: 'h', port: 0, path: '/' })
  for (const bad of ['tcp://h', 'tcp://h:0', 'tcp://h:1/x', 'tcp://u:p@h:1', 'ws://h:1/?q=1', 'tcp://h:99999', 'memory://']) {
    tt.throws(() => parseTransportUrl(bad), TypeError, bad)
  }
})

t.test('bad options are refused at start with TypeError', async (tt) => {
  const ok = { id: 'a', listen: 'tcp://127.0.0.1:0', peers: {} }
  await tt.rejects(tcpTransport({ ...ok, id: '' }, () => {}), { name: 'TypeError', message: /"id"/ })
  await tt.rejects(tcpTransport({ ...ok, listen: 'ws://127.0.0.1:0' }, () => {}), { name: 'TypeError', message: /only tcp:\/\// })
  await tt.rejects(tcpTransport({ ...ok, peers: { b: 'memory://b' } }, () => {}), { name: 'TypeError', message: /peers\.b/ })
  await tt.rejects(tcpTransport({ ...ok, maxQueueBytes: -1 }, () => {}), { name: 'TypeError', message: /maxQueueBytes/ })
  await tt.rejects(wsTransport({ ...ok, listen: 'wss://127.0.0.1:0' }, () => {}), { name: 'TypeError', message: /only ws:\/\// })
})
