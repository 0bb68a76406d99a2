/**
 * Goal: a session moves between peers as a ZooKeeper session moves between servers — another
 * peer given its id and password takes it over with its ephemerals, keeps it alive past its
 * timeout, and the handle left behind ends with SESSIONMOVED; a write the old handle still had
 * in flight is either applied before the move or never; a wrong password, an unknown session or
 * a closed one is refused with SESSIONEXPIRED; a cut-off peer that comes back learns its
 * session moved.
 * Method: three Peers in one process on a private MemoryNetwork; a "dead" peer is cut off by a
 * partition (a graceful stop would close its sessions). Outcomes are read back through
 * sessions; no timing is asserted beyond waiting out a session timeout.
 */
import t, { type Test } from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { CreateMode, Peer, ZkError, type Session } from '../../lib/index.js'
import { silentLogger } from '../../lib/env.js'
import { MemoryNetwork } from '../../transports/index.js'

let group = 0

async function threePeers (t: Test, sessionTimeoutMs = 10_000): Promise<{ net: MemoryNetwork, peers: Peer[] }> {
  const net = new MemoryNetwork()
  const g = ++group
  const ensemble = { a: `memory://sm${g}-a`, b: `memory://sm${g}-b`, c: `memory://sm${g}-c` }
  const peers: Peer[] = []
  for (const id of Object.keys(ensemble)) {
    peers.push(await Peer.start({
      id, listen: ensemble[id as 'a'], ensemble, transport: net.transport, tickMs: 10, log: silentLogger,
      sessionTimeoutMs, minSessionTimeoutMs: 200,
    }))
  }
  t.teardown(async () => { for (const p of peers) await p.stop() })
  await Promise.all(peers.map((p) => p.ready()))
  return { net, peers }
}

function nextState (zk: Session, state: string): Promise<void> {
  return new Promise((resolve) => {
    if (zk.state === state) return resolve()
    const on = (s: string): void => { if (s === state) { zk.off('state', on); resolve() } }
    zk.on('state', on)
  })
}

function code (err: unknown): string | undefined {
  return err instanceof ZkError ? err.code : undefined
}

t.test('another peer takes a session over with its ephemerals; the old handle ends SESSIONMOVED', async (t) => {
  const { peers: [a, b, c] } = await threePeers(t)
  const zk = await a!.connect()
  await zk.create('/eph', 'mine', { mode: CreateMode.EPHEMERAL })
  t.equal(zk.password.length, 16, 'a session has a 16-byte password')
  const observer = await c!.connect()
  const events: string[] = []
  await observer.exists('/eph', { watch: (e) => events.push(e.type) })

  const moved = await b!.connect({ sessionId: zk.sessionId, password: zk.password })
  t.equal(moved.sessionId, zk.sessionId, 'the same session')
  t.equal(moved.timeoutMs, zk.timeoutMs, 'with its negotiated timeout')
  t.same(moved.password, zk.password, 'and its password')
  await nextState(zk, 'closed')
  t.equal(zk.state, 'closed', 'the handle left behind is closed')
  await t.rejects(zk.getData('/eph'), { code: 'SESSIONMOVED' }, 'and refuses reads with SESSIONMOVED')
  await t.rejects(zk.create('/x'), { code: 'SESSIONMOVED' }, 'and writes')

  t.equal((await moved.exists('/eph'))?.ephemeralOwner, zk.sessionId, 'the ephemeral is still the session\'s')
  t.equal(await moved.create('/eph2', '', { mode: CreateMode.EPHEMERAL }), '/eph2', 'the new handle writes')
  await moved.setData('/eph', 'moved')
  t.equal((await moved.getData('/eph')).data.toString(), 'moved', 'and reads its own writes')
  t.equal(a!.status().localSessions, 0, 'the old peer no longer holds it')

  await moved.close()
  await observer.sync()
  t.equal(await observer.exists('/eph'), null, 'closing the moved session deletes its ephemerals')
  t.equal(await observer.exists('/eph2'), null)
  t.same(events, ['NodeDataChanged'], 'watches saw the change made through the new handle')
})

t.test('a session whose peer is cut off moves, and lives on past its timeout', async (t) => {
  const { net, peers: [a, b, c] } = await threePeers(t, 400)
  const zk = await a!.connect({ sessionTimeoutMs: 400 })
  await zk.create('/alive', '', { mode: CreateMode.EPHEMERAL })
  net.partition([[a!.id], [b!.id, c!.id]])
  const moved = await b!.connect({ sessionId: zk.sessionId, password: zk.password })
  await sleep(1_200)
  await moved.sync()
  t.not(await moved.exists('/alive'), null, 'three timeouts later the ephemeral is still there: the new peer keeps it alive')
  t.equal(moved.state, 'connected')

  net.heal()
  await nextState(zk, 'closed')
  t.pass('the cut-off peer learned, once back, that its session moved')
  await t.rejects(zk.exists('/alive'), { code: 'SESSIONMOVED' })
  const again = await c!.connect()
  await again.sync()
  t.not(await again.exists('/alive'), null, 'the old peer ending its handle did not close the session')
})

t.test('a write in flight on the old handle is applied before the move or not at all', async (t) => {
  const { peers: [a, b] } = await threePeers(t)
  const zk = await a!.connect()
  const writes = Array.from({ length: 50 }, (_, i) => zk.create(`/w${i}`).then(() => 'ok' as const, (err: unknown) => code(err)))
  const moved = await b!.connect({ sessionId: zk.sessionId, password: zk.password })
  const outcomes = await Promise.all(writes)
  await moved.sync()
  for (const [i, outcome] of outcomes.entries()) {
    const there = (await moved.exists(`/w${i}`)) !== null
    if (outcome === 'ok') t.ok(there, `/w${i} acknowledged and present`)
    else {
      t.equal(outcome, 'SESSIONMOVED', `/w${i} failed SESSIONMOVED`)
      t.notOk(there, `/w${i} refused and absent`)
    }
  }
  // Once one write fails the move has happened, so every later one of the same handle fails too.
  const firstMoved = outcomes.indexOf('SESSIONMOVED')
  if (firstMoved >= 0) t.ok(outcomes.slice(firstMoved).every((o) => o === 'SESSIONMOVED'), 'in order: the writes after the move all failed')
})

t.test('wrong password, unknown or closed session: SESSIONEXPIRED; bad arguments: BADARGUMENTS', async (t) => {
  const { peers: [a, b] } = await threePeers(t)
  const zk = await a!.connect()
  const wrong = Uint8Array.from(zk.password)
  wrong[0] = (wrong[0]! + 1) % 256
  await t.rejects(b!.connect({ sessionId: zk.sessionId, password: wrong }), { code: 'SESSIONEXPIRED' }, 'a wrong password')
  t.equal(zk.state, 'connected', 'leaves the session where it was')
  await zk.create('/still-here')
  await t.rejects(b!.connect({ sessionId: 123456789n, password: zk.password }), { code: 'SESSIONEXPIRED' }, 'an unknown session')
  await t.rejects(b!.connect({ sessionId: zk.sessionId }), { code: 'BADARGUMENTS' }, 'an id without a password')
  await t.rejects(b!.connect({ password: zk.password }), { code: 'BADARGUMENTS' }, 'a password without an id')
  await t.rejects(b!.connect({ sessionId: -1n, password: zk.password }), { code: 'BADARGUMENTS' }, 'a negative id')
  const { sessionId, password } = zk
  await zk.close()
  await t.rejects(b!.connect({ sessionId, password }), { code: 'SESSIONEXPIRED' }, 'a closed session')
})

t.test('attaching on the same peer replaces the handle', async (t) => {
  const { peers: [a] } = await threePeers(t)
  const zk = await a!.connect()
  await zk.create('/same', '', { mode: CreateMode.EPHEMERAL })
  const again = await a!.connect({ sessionId: zk.sessionId, password: zk.password })
  await nextState(zk, 'closed')
  t.not(await again.exists('/same'), null)
  t.equal(a!.status().localSessions, 1, 'one local session, the new handle')
  await again.close()
  t.equal(await (await a!.connect()).exists('/same'), null)
})
