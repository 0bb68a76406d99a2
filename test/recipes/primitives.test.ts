/**
 * Goal: Semaphore never exceeds its permits; ReadWriteLock shares reads and excludes writes;
 * Barrier and DoubleBarrier block and release; Counter loses no concurrent add and
 * compare-and-sets correctly. None leaves nodes or watches behind.
 * Method: real ensembles; in-process counters of concurrent holders checked at each step.
 */
import t from 'tap'
import { Barrier, Counter, DoubleBarrier, ReadWriteLock, Semaphore } from '../../lib/recipes/index.js'
import { isCode, onePeer, rejection, sessions, threePeers, until, watches } from './helpers.js'

t.test('Semaphore: at most `permits` holders, all served', async (t) => {
  const { peers } = await threePeers(t)
  const zks = (await Promise.all(peers.map((p) => sessions(t, p, 2)))).flat()
  let holding = 0
  let most = 0
  let served = 0
  await Promise.all(zks.map(async (zk) => {
    const sem = new Semaphore(zk, '/sem', 2)
    for (let i = 0; i < 3; i++) {
      const lease = await sem.acquire({ timeoutMs: 20_000 })
      holding++
      most = Math.max(most, holding)
      await zk.sync()
      holding--
      served++
      await lease.release()
    }
  }))
  t.equal(served, zks.length * 3)
  t.ok(most <= 2, `never more than 2 holders (saw ${most})`)
  t.same(await zks[0]!.getChildren('/sem/leases'), [])
  t.same(await zks[0]!.getChildren('/sem/lock'), [])
  t.equal(watches(...peers), 0)
})

t.test('Semaphore: permits are shared, then a waiter queues, times out cleanly, or is served', async (t) => {
  const peer = await onePeer(t)
  const [a, b, c] = await sessions(t, peer, 3)
  const one = await new Semaphore(a!, '/sem', 2).acquire({ timeoutMs: 1_000 })
  const two = await new Semaphore(b!, '/sem', 2).acquire({ timeoutMs: 1_000 })
  t.pass('two permits held at once')
  isCode(t, await rejection(t, new Semaphore(c!, '/sem', 2).acquire({ timeoutMs: 50 })), 'OPERATIONTIMEOUT')
  t.equal((await a!.getChildren('/sem/leases')).length, 2, 'the timed-out lease node is gone')
  t.same(await a!.getChildren('/sem/lock'), [], 'and its lock node')
  t.equal(watches(peer), 0, 'and its watches')
  const third = new Semaphore(c!, '/sem', 2).acquire({ timeoutMs: 10_000 })
  await until(() => watches(peer) === 1)
  t.equal(watches(peer), 1, 'only the queue head watches the leases')
  await b!.close()
  const lease = await third
  t.ok(two.lost, 'the closed session lost its permit')
  await one.release()
  await lease.release()
  t.same(await a!.getChildren('/sem/leases'), [])
  t.equal(watches(peer), 0)
})

t.test('ReadWriteLock: readers share, a writer excludes', async (t) => {
  const peer = await onePeer(t)
  const [a, b, c] = await sessions(t, peer, 3)
  const r1 = await new ReadWriteLock(a!, '/rw').readLock.acquire()
  const r2 = await new ReadWriteLock(b!, '/rw').readLock.acquire({ timeoutMs: 1_000 })
  t.pass('two readers hold together')
  let written = false
  const w = new ReadWriteLock(c!, '/rw').writeLock.acquire({ timeoutMs: 10_000 }).then((l) => { written = true; return l })
  await until(async () => (await a!.getChildren('/rw')).length === 3)
  isCode(t, await rejection(t, new ReadWriteLock(a!, '/rw').readLock.acquire({ timeoutMs: 50 })), 'OPERATIONTIMEOUT', 'a later reader queues behind the writer')
  await r1.release()
  t.notOk(written, 'the writer waits for every reader')
  await r2.release()
  const wl = await w
  t.ok(wl.fencingToken > r2.fencingToken)
  isCode(t, await rejection(t, new ReadWriteLock(b!, '/rw').writeLock.acquire({ timeoutMs: 50 })), 'OPERATIONTIMEOUT', 'writers exclude writers')
  await wl.release()
  t.same(await a!.getChildren('/rw'), [])
  t.equal(watches(peer), 0)
})

t.test('Barrier: wait blocks while set, remove releases every waiter', async (t) => {
  const peer = await onePeer(t)
  const [a, b, c] = await sessions(t, peer, 3)
  await new Barrier(a!, '/app/barrier').wait({ timeoutMs: 1_000 })
  t.pass('an unset barrier does not block')
  await new Barrier(a!, '/app/barrier').set()
  await new Barrier(a!, '/app/barrier').set()
  isCode(t, await rejection(t, new Barrier(b!, '/app/barrier').wait({ timeoutMs: 50 })), 'OPERATIONTIMEOUT')
  const waits = [b, c].map((zk) => new Barrier(zk!, '/app/barrier').wait({ timeoutMs: 10_000 }))
  await until(() => watches(peer) === 2)
  await new Barrier(a!, '/app/barrier').remove()
  await Promise.all(waits)
  t.equal(await a!.exists('/app/barrier'), null)
  t.equal(watches(peer), 0)
})

t.test('DoubleBarrier: enter together, leave together, reusable', async (t) => {
  const { peers } = await threePeers(t)
  const zks = (await Promise.all(peers.map((p) => sessions(t, p, 1)))).flat()
  for (let round = 0; round < 2; round++) {
    const bs = zks.map((zk) => new DoubleBarrier(zk, '/db', 3))
    let entered = 0
    const enters = bs.map(async (b) => { await b.enter({ timeoutMs: 10_000 }); entered++ })
    await Promise.all(enters)
    t.equal(entered, 3, `round ${round}: all entered`)
    await Promise.all(bs.map((b) => b.leave({ timeoutMs: 10_000 })))
    t.same(await zks[0]!.getChildren('/db'), [], `round ${round}: all left, ready removed`)
  }
  const lone = new DoubleBarrier(zks[0]!, '/db', 2)
  isCode(t, await rejection(t, lone.enter({ timeoutMs: 50 })), 'OPERATIONTIMEOUT', 'entering alone times out')
  t.same(await zks[0]!.getChildren('/db'), [], 'and leaves no node')
  t.equal(watches(...peers), 0)
})

t.test('Counter: concurrent adds are all applied; compareAndSet', async (t) => {
  const { peers } = await threePeers(t)
  const zks = (await Promise.all(peers.map((p) => sessions(t, p, 2)))).flat()
  await Promise.all(zks.map(async (zk, i) => {
    const counter = new Counter(zk, '/counters/hits')
    for (let n = 0; n < 5; n++) await counter.add(i % 2 === 0 ? 2 : -1, { timeoutMs: 10_000 })
  }))
  const c = new Counter(zks[0]!, '/counters/hits')
  await zks[0]!.sync()
  t.equal(await c.get(), 3 * 5 * 2 - 3 * 5, 'no add lost')
  t.equal((await zks[0]!.getData('/counters/hits')).data.toString(), '15', 'stored as decimal text')
  t.equal(await c.compareAndSet(14, 100), false)
  t.equal(await c.compareAndSet(15, 100), true)
  t.equal(await c.get(), 100)
  isCode(t, await rejection(t, c.add(0.5)), 'BADARGUMENTS')
  t.equal(watches(...peers), 0)
})
