/**
 * Goal: Lock and withLock give mutual exclusion with strictly increasing fencing tokens, hand
 * over when a holder releases, closes or dies, wait without herd effect, honour timeouts and
 * aborts, survive unknown create outcomes, report suspension and loss, and leave no node or
 * watch behind.
 * Method: real in-process ensembles (one peer, or three over a private memory network),
 * driven through the public API; sessions contend on a naive read-modify-write counter znode.
 */
import t from 'tap'
import { Lock, withLock, type Lease } from '../../lib/recipes/index.js'
import {
  children, injectUnknownCreate, isCode, next, onePeer, rejection, sessions, threePeers, until, watches,
} from './helpers.js'

t.test('N sessions contend: no update lost, tokens strictly increase', async (t) => {
  const { peers } = await threePeers(t)
  const zks = (await Promise.all(peers.map((p) => sessions(t, p, 2)))).flat()
  await zks[0]!.create('/count', '0')
  const tokens: number[] = []
  await Promise.all(zks.map(async (zk) => {
    for (let i = 0; i < 4; i++) {
      await withLock(zk, '/locks/count', async (lease) => {
        tokens.push(lease.fencingToken)
        await zk.sync()
        const { data } = await zk.getData('/count')
        await zk.setData('/count', String(Number(data.toString()) + 1))
      }, { timeoutMs: 20_000 })
    }
  }))
  await zks[0]!.sync()
  t.equal((await zks[0]!.getData('/count')).data.toString(), String(zks.length * 4), 'no update lost')
  t.ok(tokens.every((tok, i) => i === 0 || tok > tokens[i - 1]!), 'fencing tokens strictly increase')
  t.same(await children(zks[0]!, '/locks/count'), [], 'no lock node left')
  t.equal(watches(...peers), 0, 'no watch left')
})

t.test('waiters watch only their predecessor; release wakes the next', async (t) => {
  const peer = await onePeer(t)
  const zks = await sessions(t, peer, 4)
  const held = await new Lock(zks[0]!, '/l').acquire()
  t.equal(watches(peer), 0, 'a holder watches nothing')
  const order: number[] = []
  const waiting = zks.slice(1).map(async (zk, i) => {
    const lease = await new Lock(zk, '/l').acquire({ timeoutMs: 10_000 })
    order.push(i + 1)
    return lease
  })
  await until(async () => (await zks[0]!.getChildren('/l')).length === 4, 5_000, 'all queued')
  await until(() => watches(peer) === 3, 5_000, 'one watch per waiter')
  t.equal(watches(peer), 3, 'three waiters, three watches (no herd)')
  await held.release()
  const second = await waiting[0]!
  t.same(order, [1], 'only the next waiter got the lock')
  t.ok(second.fencingToken > held.fencingToken)
  await second.release()
  const third = await waiting[1]!
  await third.release()
  await (await waiting[2]!).release()
  t.same(order, [1, 2, 3], 'FIFO')
  t.same(await zks[0]!.getChildren('/l'), [])
  t.equal(watches(peer), 0)
})

t.test('timeout and abort reject clearly and leave nothing behind', async (t) => {
  const peer = await onePeer(t)
  const [a, b] = await sessions(t, peer, 2)
  const held = await new Lock(a!, '/l').acquire()
  isCode(t, await rejection(t, new Lock(b!, '/l').acquire({ timeoutMs: 50 })), 'OPERATIONTIMEOUT')
  t.equal((await a!.getChildren('/l')).length, 1, 'the timed-out node is gone')
  t.equal(watches(peer), 0, 'and its watch')
  const ac = new AbortController()
  const p = new Lock(b!, '/l').acquire({ signal: ac.signal })
  await until(async () => (await a!.getChildren('/l')).length === 2)
  ac.abort()
  const err = await rejection(t, p)
  t.equal((err as Error).name, 'AbortError')
  t.equal((await a!.getChildren('/l')).length, 1)
  t.equal(watches(peer), 0)
  const pre = new AbortController()
  pre.abort()
  t.equal((await rejection(t, new Lock(b!, '/l').acquire({ signal: pre.signal })) as Error).name, 'AbortError', 'an aborted signal rejects at once')
  isCode(t, await rejection(t, new Lock(b!, '/l').acquire({ timeoutMs: -1 })), 'BADARGUMENTS')
  await held.release()
  await held.release()
  t.same(await a!.getChildren('/l'), [], 'release is idempotent')
})

t.test('withLock releases when fn throws', async (t) => {
  const peer = await onePeer(t)
  const [a] = await sessions(t, peer, 1)
  await t.rejects(withLock(a!, '/l', () => { throw new Error('boom') }), { message: 'boom' })
  t.same(await a!.getChildren('/l'), [])
})

t.test('a closed holder loses the lock and the next takes over', async (t) => {
  const peer = await onePeer(t)
  const [a, b] = await sessions(t, peer, 2)
  const held = await new Lock(a!, '/l').acquire()
  const lost = next(held, 'lost')
  const waiter = new Lock(b!, '/l').acquire({ timeoutMs: 10_000 })
  await until(async () => (await b!.getChildren('/l')).length === 2)
  await a!.close()
  await lost
  t.ok(held.lost, 'lease.lost')
  t.ok(held.signal.aborted, 'lease.signal aborted')
  const second = await waiter
  t.ok(second.fencingToken > held.fencingToken)
  await held.release()
  await second.release()
  t.equal(watches(peer), 0)
})

t.test('a holder whose peer dies loses the lock after its session timeout', async (t) => {
  const { peers } = await threePeers(t)
  const [a, , c] = peers
  const [onC] = await sessions(t, c!, 1, 300)
  const [onA] = await sessions(t, a!, 1, 300)
  const held = await new Lock(onC!, '/l').acquire()
  const lost = next(held, 'lost')
  const waiter = new Lock(onA!, '/l').acquire({ timeoutMs: 10_000 })
  await until(async () => (await onA!.getChildren('/l')).length === 2)
  await c!.stop()
  await lost
  const second = await waiter
  t.ok(second.fencingToken > held.fencingToken, 'the next holder has a higher token')
  await second.release()
  t.same(await onA!.getChildren('/l'), [])
})

t.test('unknown create outcomes: found by guid, or retried; never duplicated', async (t) => {
  const peer = await onePeer(t)
  const [a] = await sessions(t, peer, 1)
  injectUnknownCreate(a!, true)
  const l1 = await new Lock(a!, '/l').acquire({ timeoutMs: 5_000 })
  t.equal((await a!.getChildren('/l')).length, 1, 'applied: found, not created twice')
  await l1.release()
  injectUnknownCreate(a!, false)
  const l2 = await new Lock(a!, '/l').acquire({ timeoutMs: 5_000 })
  t.equal((await a!.getChildren('/l')).length, 1, 'not applied: created once on retry')
  t.ok(l2.fencingToken > l1.fencingToken)
  await l2.release()
  t.same(await a!.getChildren('/l'), [])
})

t.test('a holder learns of suspension and reconnection', async (t) => {
  const { peers, net } = await threePeers(t)
  const follower = peers.find((p) => p.role !== 'leader')!
  const [zk] = await sessions(t, follower, 1, 5_000)
  const held: Lease = await new Lock(zk!, '/l').acquire()
  const suspended = next(held, 'suspended', 10_000)
  net.partition([[follower.id]])
  await suspended
  t.ok(held.suspended)
  t.notOk(held.signal.aborted, 'suspension alone does not abort the signal')
  const back = next(held, 'reconnected', 10_000)
  net.heal()
  await back
  t.notOk(held.suspended)
  t.notOk(held.lost)
  await held.release()
  t.same(await zk!.getChildren('/l'), [])
})
