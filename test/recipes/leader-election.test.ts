/**
 * Goal: LeaderElection elects exactly one candidate, passes leadership in candidacy order
 * without herd effect, revokes on stop, close, peer death and suspension, and leaves nothing.
 * Method: real ensembles through the public API; the herd check counts each candidate's
 * getChildren calls (a spy on its session) when the leader leaves.
 */
import t from 'tap'
import type { Session } from '../../lib/index.js'
import { LeaderElection } from '../../lib/recipes/index.js'
import { children, next, onePeer, sessions, threePeers, until, watches } from './helpers.js'

function countListings (zk: Session): () => number {
  let n = 0
  const real = zk.getChildren.bind(zk)
  zk.getChildren = (...args: Parameters<Session['getChildren']>) => {
    n++
    return real(...args)
  }
  return () => n
}

t.test('one leader; leadership passes in order; only the successor wakes', async (t) => {
  const peer = await onePeer(t)
  const zks = await sessions(t, peer, 4)
  const counts = zks.map(countListings)
  const cands = zks.map((zk, i) => new LeaderElection(zk, '/election/app', { id: `c${i}` }))
  for (const c of cands) await c.start({ timeoutMs: 5_000 })
  t.same(cands.map((c) => c.isLeader), [true, false, false, false])
  for (const c of cands) t.equal(await c.leader(), 'c0', 'every candidate sees the same leader')
  t.equal(watches(peer), 4, 'each follower watches its predecessor; the leader its own node')
  const before = counts.map((f) => f())
  const elected = next(cands[1]!, 'elected')
  const revoked = next(cands[0]!, 'revoked')
  await cands[0]!.stop()
  t.same(await revoked, ['stopped'])
  await elected
  t.ok(cands[1]!.isLeader)
  const woke = counts.map((f, i) => f() - before[i]!)
  t.same(woke.slice(2), [0, 0], 'no herd: candidates 2 and 3 did not re-list')
  t.equal(await cands[3]!.leader(), 'c1')
  // A follower in the middle leaves: the one behind it re-links, nobody is elected.
  await cands[2]!.stop()
  await until(async () => (await zks[1]!.getChildren('/election/app')).length === 2)
  t.same(cands.map((c) => c.isLeader), [false, true, false, false])
  for (const c of cands) await c.stop()
  t.same(await children(zks[0]!, '/election/app'), [], 'no candidate node left')
  t.equal(watches(peer), 0, 'no watch left')
  t.equal(await cands[0]!.leader(), undefined)
})

t.test('a leader whose session closes is revoked; the next is elected', async (t) => {
  const peer = await onePeer(t)
  const [a, b] = await sessions(t, peer, 2)
  const ca = new LeaderElection(a!, '/e', { id: 'a' })
  const cb = new LeaderElection(b!, '/e', { id: 'b' })
  await ca.start()
  await cb.start()
  const revoked = next(ca, 'revoked')
  const elected = next(cb, 'elected')
  await a!.close()
  t.same(await revoked, ['closed'])
  await elected
  t.equal(await cb.leader(), 'b')
  await ca.stop()
  await cb.stop()
  t.equal(watches(peer), 0)
})

t.test('a leader whose peer dies is replaced after its session timeout', async (t) => {
  const { peers } = await threePeers(t)
  const [a, b, c] = peers
  const [onC] = await sessions(t, c!, 1, 300)
  const [onA] = await sessions(t, a!, 1, 300)
  const [onB] = await sessions(t, b!, 1, 300)
  const cc = new LeaderElection(onC!, '/e', { id: 'c' })
  await cc.start()
  const ca = new LeaderElection(onA!, '/e', { id: 'a' })
  await ca.start()
  const elected = next(ca, 'elected', 10_000)
  await c!.stop()
  await elected
  const observer = new LeaderElection(onB!, '/e', { id: 'b' })
  t.equal(await observer.leader(), 'a')
  await ca.stop()
})

t.test('a suspended leader is revoked, and re-elected on reconnection', async (t) => {
  const { peers, net } = await threePeers(t)
  const follower = peers.find((p) => p.role !== 'leader')!
  const [zk] = await sessions(t, follower, 1, 5_000)
  const e = new LeaderElection(zk!, '/e', { id: 'x' })
  await e.start()
  t.ok(e.isLeader)
  const revoked = next(e, 'revoked', 10_000)
  net.partition([[follower.id]])
  t.same(await revoked, ['suspended'])
  t.notOk(e.isLeader)
  const elected = next(e, 'elected', 10_000)
  net.heal()
  await elected
  t.ok(e.isLeader)
  await e.stop()
  t.same(await zk!.getChildren('/e'), [])
})
