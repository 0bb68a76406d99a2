/**
 * Goal: TLS over TCP (`tcp://` + tls) and `wss://` pass the transport conformance suite, and a
 * peer whose certificate is not signed by the configured CA is refused.
 * Method: a throw-away CA and a peer certificate (SAN 127.0.0.1, server+client auth) are
 * generated with the openssl CLI into a temporary directory; without openssl the file skips.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import type { TlsOptions, TransportFactory } from '../../transports/transport.js'
import { tcpTransport } from '../../transports/tcp.js'
import { wsTransport } from '../../transports/websocket.js'
import { sleep, startGroup, TEST_TIMING, transportSuite, waitFor } from '../conformance/transport-suite.js'
import { freePorts } from '../helpers/ports.js'
import { rawTcp, rawWs } from './raw.js'

/** A CA and one peer certificate signed by it, as PEM. */
interface Pki { readonly ca: string, readonly key: string, readonly cert: string }

function makePki (dir: string, name: string): Pki {
  const run = (...args: string[]): void => { execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' }) }
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
  run('req', '-x509', ...ec, '-keyout', `${name}-ca.key`, '-out', `${name}-ca.crt`, '-days', '3650', '-subj', `/CN=${name} test CA`)
  run('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', '/CN=localhost')
  writeFileSync(join(dir, `${name}.ext`), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n')
  run('x509', '-req', '-in', `${name}.csr`, '-CA', `${name}-ca.crt`, '-CAkey', `${name}-ca.key`, '-CAcreateserial',
    '-out', `${name}.crt`, '-days', '3650', '-extfile', `${name}.ext`)
  const read = (f: string): string => readFileSync(join(dir, f), 'utf8')
  return { ca: read(`${name}-ca.crt`), key: read(`${name}.key`), cert: read(`${name}.crt`) }
}

let pki: { readonly good: Pki, readonly rogue: Pki } | undefined
let skipReason: string | undefined
try {
  execFileSync('openssl', ['version'], { stdio: 'ignore' })
  const dir = mkdtempSync(join(tmpdir(), 'zkpeer-tls-'))
  try {
    pki = { good: makePki(dir, 'good'), rogue: makePki(dir, 'rogue') }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
} catch (err) {
  skipReason = `openssl CLI unavailable or failed (${err instanceof Error ? err.message : String(err)}); TLS tests skipped`
}

if (pki === undefined) {
  console.log(`# ${skipReason ?? 'no PKI'}`)
  t.pass(skipReason ?? 'skipped')
} else {
  const { good, rogue } = pki
  const tls: TlsOptions = { key: good.key, cert: good.cert, ca: good.ca }
  const withTls = (factory: TransportFactory): TransportFactory => (o, onMessage, onPeerLost) => factory({ ...o, tls }, onMessage, onPeerLost)

  transportSuite({
    name: 'tcp+tls',
    createGroup: async (size, opts) => startGroup(withTls(tcpTransport), (await freePorts(size)).map((p) => `tcp://127.0.0.1:${p}`), opts),
    sendRaw: rawTcp,
  })
  transportSuite({
    name: 'wss',
    createGroup: async (size, opts) => startGroup(withTls(wsTransport), (await freePorts(size)).map((p) => `wss://127.0.0.1:${p}`), opts),
    sendRaw: (url, bytes, timeoutMs) => rawWs(url, bytes, timeoutMs, { ca: good.ca }),
  })

  for (const [name, factory, scheme] of [['tcp+tls', tcpTransport, 'tcp'], ['wss', wsTransport, 'wss']] as const) {
    t.test(`${name}: a peer with a certificate from another CA, or none, is refused`, async (tt) => {
      const [pa, pb] = await freePorts(2)
      const urls = { a: `${scheme}://127.0.0.1:${pa ?? 0}`, b: `${scheme}://127.0.0.1:${pb ?? 0}` }
      const inbox: unknown[] = []
      const a = await factory({ id: 'a', listen: urls.a, peers: urls, tls, ...TEST_TIMING }, (_f, m) => inbox.push(m))
      tt.teardown(() => a.stop())
      const b = await factory({ id: 'b', listen: urls.b, peers: urls, tls: { key: rogue.key, cert: rogue.cert, ca: good.ca }, ...TEST_TIMING }, () => {})
      tt.teardown(() => b.stop())
      b.send('a', { rogue: true })
      if (scheme === 'tcp') tt.equal(await rawTcp(urls.a, Buffer.from('x'), 3000, good.ca), true, 'no client certificate: closed')
      else tt.equal(await rawWs(urls.a, Buffer.from('x'), 3000, { ca: good.ca }), true, 'no client certificate: closed')
      await sleep(300)
      tt.same(inbox, [], 'nothing delivered from the rogue peer')
      // The listener still serves a properly certified peer.
      await b.stop()
      const c = await factory({ id: 'b', listen: urls.b, peers: urls, tls, ...TEST_TIMING }, () => {})
      tt.teardown(() => c.stop())
      c.send('a', { good: true })
      await waitFor(() => inbox.length === 1, 'delivery from a certified peer')
    })
  }
}
