/**
 * Goal: the Peer's ensemble behaviours that need a controllable network — a write on a
 * follower is forwarded and acknowledged after it is applied locally; a peer cut off from the
 * leader suspends its sessions, whose operations wait and then complete under the new leader;
 * a session the ensemble expired turns `expired` and its pending operations fail with
 * SESSIONEXPIRED; watches fire on every peer; a graceful stop hands leadership over.
 * Method: three Peers in one process on a private MemoryNetwork, partitioned and healed by the
 * test; outcomes are read back through sessions. No timing is asserted.
 */
import t, { type Test } from 'tap'
import { Peer, ZkError, type Session, type WatchEvent } from '../../lib/index.js'
import { silentLogger } from '../../lib/env.js'
import { MemoryNetwork } from '../../transports/index.js'

let group = 0

async function threePeers (t: Test, opts: { sessionTimeoutMs?: number, snapshotEntries?: number } = {}): Promise<{ net: MemoryNetwork, peers: Map<string, Peer>, restart: (id: string) => Promise<Peer> }> {
  const net = new MemoryNetwork()
  const g = ++group
  const ensemble = { a: `memory://em${g}-a`, b: `memory://em${g}-b`, c: `memory://em${g}-c` }
  const peers = new Map<string, Peer>()
  const start = (id: string): Promise<Peer> => Peer.start({
    id, listen: ensemble[id as 'a'], ensemble, transport: net.transport, tickMs: 10, log: silentLogger,
    sessionTimeoutMs: opts.sessionTimeoutMs ?? 10_000, minSessionTimeoutMs: 200, snapshotEntries: opts.snapshotEntries,
  })
  for (const id of Object.keys(ensemble)) peers.set(id, await start(id))
  t.teardown(async () => { for (const p of peers.values()) await p.stop() })
  await Promise.all([...peers.values()].map((p) => p.ready()))
  const restart = async (id: string): Promise<Peer> => {
    const p = await start(id)
    peers.set(id, p)
    return p
  }
  return { net, peers, restart }
}

function leaderOf (peers: Map<string, Peer>): Peer {
  const l = [...peers.values()].find((p) => p.role === 'leader')
  if (l === undefined) throw new Error('no leader')
  return l
}

function followers (peers: Map<string, Peer>): Peer[] {
  return [...peers.values()].filter((p) => p.role !== 'leader')
}

function nextState (zk: Session, state: string): Promise<void> {
  return new Promise((resolve) => {
    if (zk.state === state) return resolve()
    const on = (s: string): void => { if (s === state) { zk.off('state', on); resolve() } }
    zk.on('state', on)
  })
}

t.test('a write on a follower is forwarded, applied everywhere, and fires watches on every peer', async (t) => {
  const { peers } = await threePeers(t)
  const [f1, f2] = followers(peers)
  const writer = await f1!.connect()
  const watchers = await Promise.all([...peers.values()].map((p) => p.connect()))
  const events: string[][] = watchers.map(() => [])
  await Promise.all(watchers.map((zk, i) => zk.exists('/fwd', { watch: (e: WatchEvent) => events[i]!.push(e.type) })))
  t.equal(await writer.create('/fwd', 'x'), '/fwd')
  t.equal((await writer.getData('/fwd')).data.toString(), 'x', 'the writer reads its own write at once')
  const other = watchers[[...peers.values()].indexOf(f2!)]!
  await other.sync()
  t.equal((await other.getData('/fwd')).data.toString(), 'x', 'another follower has it after sync')
  for (const [i, zk] of watchers.entries()) {
    await zk.sync()
    t.same(events[i], ['NodeCreated'], `the watch fired on peer ${[...peers.keys()][i]}`)
  }
  t.equal(f1!.status().pendingWrites, 0)
})

t.test('a peer cut off from the leader suspends its sessions; their writes complete under the new leader', async (t) => {
  const { net, peers } = await threePeers(t)
  const leader = leaderOf(peers)
  const [f1, f2] = followers(peers)
  const zk = await f1!.connect()
  await zk.create('/before')
  net.partition([[leader.id], [f1!.id, f2!.id]])
  const suspended = nextState(zk, 'suspended')
  const connected = suspended.then(() => nextState(zk, 'connected'))
  await suspended
  t.equal(zk.state, 'suspended')
  // Issued while there is no leader: it waits rather than fails.
  const write = zk.create('/during')
  await connected
  t.equal(await write, '/during', 'the write went through once a new leader was elected')
  t.not(f1!.leaderId, leader.id, 'under a new leader')
  net.heal()
  await leader.ready()
  t.equal(leader.leaderId, f1!.leaderId, 'the old leader rejoins as a follower of the new one')
  const onOld = await leader.connect()
  await onOld.sync()
  t.same(await onOld.getChildren('/'), ['before', 'during', 'zookeeper'], 'and has each write, applied exactly once')
})

t.test('a session the ensemble expired turns expired; its pending operations fail with SESSIONEXPIRED', async (t) => {
  const { net, peers } = await threePeers(t, { sessionTimeoutMs: 300 })
  const leader = leaderOf(peers)
  const [f1, f2] = followers(peers)
  const lonely = await f1!.connect({ sessionTimeoutMs: 300 })
  await lonely.create('/eph', '', { mode: 1 })
  const observer = await f2!.connect()
  const gone = new Promise<void>((resolve) => { void observer.exists('/eph', { watch: () => resolve() }) })
  // f1 is cut off; the leader and f2 keep a quorum and expire f1's silent session.
  net.partition([[f1!.id], [leader.id, f2!.id]])
  await gone
  t.equal(await observer.exists('/eph'), null, 'the ephemeral was deleted by the expiry')
  const pending = lonely.setData('/eph', 'late').catch((e: unknown) => e)
  net.heal()
  await nextState(lonely, 'expired')
  const err = await pending
  t.ok(err instanceof ZkError && (err.code === 'SESSIONEXPIRED'), `a pending write fails with SESSIONEXPIRED (${String(err)})`)
  await t.rejects(lonely.getData('/'), { code: 'SESSIONEXPIRED' }, 'later operations too')
})

t.test('stopping the leader hands leadership over first', async (t) => {
  const { peers } = await threePeers(t)
  const leader = leaderOf(peers)
  const others = followers(peers)
  const zk = await others[0]!.connect()
  await zk.create('/x')
  await leader.stop()
  peers.delete(leader.id)
  const next = others.find((p) => p.role === 'leader')
  t.ok(next !== undefined, 'a follower took over by the time stop() resolved')
  t.equal(others[0]!.leaderId, next?.id)
  await zk.setData('/x', 'after')
  t.equal((await zk.getData('/x')).data.toString(), 'after', 'writes continue with two of three')
})

t.test('an in-memory follower that restarts empty under the same leader catches up', async (t) => {
  const { peers, restart } = await threePeers(t)
  const leader = leaderOf(peers)
  const zk = await leader.connect()
  for (let i = 0; i < 30; i++) await zk.create(`/n${i}`)
  const follower = followers(peers)[0]!
  await follower.stop()
  await zk.create('/while-down')
  const back = await restart(follower.id)
  await back.ready()
  t.equal(back.leaderId, leader.id, 'the same leader, in the same term')
  const s = await back.connect()
  await s.sync()
  t.equal((await s.getChildren('/')).length, 32, 'it holds every write again')
  await back.stop()
  const idle = await restart(follower.id)
  await idle.ready()
  const s2 = await idle.connect()
  await s2.sync()
  t.equal((await s2.getChildren('/')).length, 32, 'and again with no write after the restart: heartbeats reveal the loss')
})

t.test('a follower that catches up by snapshot still delivers the watch events it skipped', async (t) => {
  const { net, peers } = await threePeers(t, { snapshotEntries: 20, sessionTimeoutMs: 60_000 })
  const leader = leaderOf(peers)
  const [lagging, other] = followers(peers)
  const writer = await leader.connect()
  await writer.create('/x', 'v0')
  await writer.create('/pred')
  await writer.create('/parent')
  const zk = await lagging!.connect({ sessionTimeoutMs: 60_000 })
  await zk.sync()
  const events: string[] = []
  const log = (e: WatchEvent): void => { events.push(`${e.type} ${e.path}`) }
  await zk.getData('/x', { watch: log })
  await zk.exists('/pred', { watch: log })
  await zk.exists('/later', { watch: log })
  await zk.getChildren('/parent', { watch: log })
  const persistent: string[] = []
  zk.addWatch('/x', (e) => persistent.push(e.type))
  net.partition([[lagging!.id], [leader.id, other!.id]])
  await writer.setData('/x', 'v1')
  await writer.delete('/pred')
  await writer.create('/later')
  await writer.create('/parent/child')
  for (let i = 0; i < 80; i++) await writer.create(`/filler-${i}`)
  net.heal()
  await zk.sync()
  t.ok(lagging!.status().snapshotsInstalled >= 1, 'the follower caught up by snapshot')
  t.same(events.sort(), ['NodeChildrenChanged /parent', 'NodeCreated /later', 'NodeDataChanged /x', 'NodeDeleted /pred'], 'every one-shot watch fired')
  t.same(persistent, ['NodeDataChanged'], 'and the persistent watch saw the change')
  t.equal((await zk.getData('/x')).data.toString(), 'v1')
})

t.test('a stall of the leader longer than a session timeout does not expire the sessions it could not hear', async (t) => {
  const { peers } = await threePeers(t, { sessionTimeoutMs: 400 })
  const follower = followers(peers)[0]!
  const zk = await follower.connect({ sessionTimeoutMs: 400 })
  await zk.create('/mine', '', { mode: 1 })
  await zk.sync()
  // Block this whole process (all three peers) for three session timeouts.
  const until = Date.now() + 1_200
  while (Date.now() < until) { /* a stall, as a big snapshot or a long GC would cause */ }
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setTimeout(resolve, 10))
  await zk.sync()
  t.equal(zk.state, 'connected', 'the session survived the stall')
  t.ok(await zk.exists('/mine'), 'and so did its ephemeral')
})
