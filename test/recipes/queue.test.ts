/**
 * Goal: Queue is FIFO and hands each item to exactly one taker under concurrent takers on
 * several peers; a take times out cleanly; a dead taker's claim frees its item.
 * Method: three peers, producers and takers on each; compare the multiset of taken items.
 */
import t from 'tap'
import { CreateMode } from '../../lib/index.js'
import { Queue } from '../../lib/recipes/index.js'
import { isCode, onePeer, rejection, sessions, threePeers, watches } from './helpers.js'

t.test('concurrent takers on three peers: nothing lost, nothing taken twice', async (t) => {
  const { peers } = await threePeers(t)
  const zks = (await Promise.all(peers.map((p) => sessions(t, p, 2)))).flat()
  const total = 30
  const taken: string[] = []
  const takers = zks.map(async (zk) => {
    const q = new Queue(zk, '/q')
    for (;;) {
      if (taken.length >= total) return
      try {
        taken.push((await q.take({ timeoutMs: 300 })).toString())
      } catch {
        // timed out: look again whether all are taken
      }
    }
  })
  await Promise.all(zks.slice(0, 3).map(async (zk, p) => {
    const q = new Queue(zk, '/q')
    for (let i = 0; i < total / 3; i++) await q.put(`p${p}-${i}`)
  }))
  await Promise.all(takers)
  t.equal(taken.length, total, 'every item taken')
  t.equal(new Set(taken).size, total, 'none twice')
  t.same(await zks[0]!.getChildren('/q'), [])
  t.equal(watches(...peers), 0)
})

t.test('FIFO, poll, size, and timeout', async (t) => {
  const peer = await onePeer(t)
  const [a] = await sessions(t, peer, 1)
  const q = new Queue(a!, '/q')
  t.equal(await q.poll(), undefined)
  for (const x of ['1', '2', '3']) await q.put(x)
  t.equal(await q.size(), 3)
  t.equal((await q.take()).toString(), '1')
  t.equal((await q.poll())?.toString(), '2')
  t.equal((await q.take()).toString(), '3')
  isCode(t, await rejection(t, q.take({ timeoutMs: 50 })), 'OPERATIONTIMEOUT')
  t.equal(watches(peer), 0)
})

t.test("a claimed item goes back when its taker's session ends", async (t) => {
  const peer = await onePeer(t)
  const [a, dead] = await sessions(t, peer, 2)
  const q = new Queue(a!, '/q')
  const item = await q.put('x')
  await dead!.create(`${item}/claim`, 'someone', { mode: CreateMode.EPHEMERAL })
  const p = q.take({ timeoutMs: 5_000 })
  await dead!.close()
  t.equal((await p).toString(), 'x')
  t.equal(watches(peer), 0)
})
