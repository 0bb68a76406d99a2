/**
 * Goal: Membership lists members with their info, reports joins and leaves, sees a member
 * leave when its session closes or its peer dies, refuses a duplicate live id, and stop()
 * leaves no watch or node.
 * Method: three peers, one member per peer.
 */
import t from 'tap'
import { Membership } from '../../lib/recipes/index.js'
import { isCode, next, rejection, sessions, threePeers, until, watches } from './helpers.js'

t.test('join, change events, leave on close and on peer death', async (t) => {
  const { peers } = await threePeers(t)
  const zks = await Promise.all(peers.map(async (p) => (await sessions(t, p, 1, 1_000))[0]!))
  const ms = zks.map((zk, i) => new Membership(zk, '/cluster/workers', `w/${i}`, { port: 8000 + i }))
  for (const m of ms) await m.join()
  // Each member reads its own peer, which may apply the last join a moment after another does.
  await until(async () => (await Promise.all(ms.map((m) => m.members()))).every((members) => members.size === 3))
  t.same([...(await ms[1]!.members()).entries()].sort(), [['w/0', { port: 8000 }], ['w/1', { port: 8001 }], ['w/2', { port: 8002 }]])
  isCode(t, await rejection(t, new Membership(zks[0]!, '/cluster/workers', 'w/1').join()), 'NODEEXISTS', 'a live id is refused')

  let change = next(ms[0]!, 'change')
  await zks[1]!.close()
  t.same([...((await change)[0] as Map<string, unknown>).keys()].sort(), ['w/0', 'w/2'], 'a closed member left')

  change = next(ms[0]!, 'change', 10_000)
  await peers[2]!.stop()
  t.same([...((await change)[0] as Map<string, unknown>).keys()], ['w/0'], 'a dead peer\'s member left after its session timeout')

  await ms[0]!.stop()
  t.same(await zks[0]!.getChildren('/cluster/workers'), [])
  t.equal(watches(peers[0]!, peers[1]!), 0)
})
