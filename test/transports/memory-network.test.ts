/**
 * Goal: MemoryNetwork's fault hooks do what tests and the simulator rely on: delivery is
 * asynchronous, drop() is one-way, partition() splits and heal() restores, delay() holds
 * messages back yet keeps their order, disconnect() reports a lost connection to both ends
 * without losing messages, and a listen name is taken only once per hub.
 * Method: three endpoints on a private hub; bounded waits on their inboxes.
 */
import t from 'tap'
import { MemoryNetwork } from '../../transports/memory.js'
import type { Transport } from '../../transports/transport.js'
import { sleep, waitFor } from '../conformance/transport-suite.js'

interface Trio {
  readonly net: MemoryNetwork
  readonly tr: Record<string, Transport>
  readonly inbox: Record<string, Array<{ from: string, message: unknown }>>
  /** Peers each endpoint was told it lost. */
  readonly lost: Record<string, string[]>
}

async function trio (tt: { teardown (fn: () => Promise<void>): void }): Promise<Trio> {
  const net = new MemoryNetwork()
  const peers = { a: 'memory://a', b: 'memory://b', c: 'memory://c' }
  const tr: Record<string, Transport> = {}
  const inbox: Trio['inbox'] = { a: [], b: [], c: [] }
  const lost: Trio['lost'] = { a: [], b: [], c: [] }
  for (const id of ['a', 'b', 'c']) {
    tr[id] = await net.transport({ id, listen: `memory://${id}`, peers }, (from, message) => inbox[id]?.push({ from, message }), (peer) => lost[id]?.push(peer))
  }
  tt.teardown(async () => { await Promise.all(Object.values(tr).map((x) => x.stop())) })
  return { net, tr, inbox, lost }
}

const send = (x: Trio, from: string, to: string, message: unknown): boolean => (x.tr[from] as Transport).send(to, message)

t.test('delivery is asynchronous, never inside send', async (tt) => {
  const x = await trio(tt)
  send(x, 'a', 'b', { n: 1 })
  tt.equal(x.inbox.b?.length, 0, 'not delivered synchronously')
  await Promise.resolve()
  tt.equal(x.inbox.b?.length, 0, 'not delivered in a microtask either')
  await waitFor(() => x.inbox.b?.length === 1, 'delivery')
})

t.test('disconnect(a, b) reports the loss to both, later, and loses no message', async (tt) => {
  const x = await trio(tt)
  x.net.disconnect('a', 'b')
  tt.same(x.lost, { a: [], b: [], c: [] }, 'not reported synchronously')
  send(x, 'a', 'b', { still: true })
  await waitFor(() => x.lost.a?.length === 1 && x.lost.b?.length === 1 && x.inbox.b?.length === 1, 'reports and delivery')
  tt.same(x.lost, { a: ['b'], b: ['a'], c: [] })
  await (x.tr.c as Transport).stop()
  await waitFor(() => x.lost.a?.length === 2 && x.lost.b?.length === 2, 'a stopped endpoint is lost to the others')
  tt.same(x.lost, { a: ['b', 'c'], b: ['a', 'c'], c: [] })
})

t.test('drop(from, to) is one-way and heal() restores it', async (tt) => {
  const x = await trio(tt)
  x.net.drop('a', 'b')
  tt.equal(x.net.isBlocked('a', 'b'), true)
  tt.equal(x.net.isBlocked('b', 'a'), false)
  tt.equal(send(x, 'a', 'b', { lost: true }), true, 'a lost message still counts as sent')
  send(x, 'b', 'a', { back: true })
  await waitFor(() => x.inbox.a?.length === 1, 'reverse direction')
  await sleep(20)
  tt.equal(x.inbox.b?.length, 0, 'a → b dropped')
  x.net.heal()
  send(x, 'a', 'b', { healed: true })
  await waitFor(() => x.inbox.b?.length === 1, 'after heal')
  tt.same(x.inbox.b?.[0]?.message, { healed: true })
})

t.test('partition(groups) splits both ways; unnamed peers form their own group', async (tt) => {
  const x = await trio(tt)
  x.net.partition([['a', 'b']])
  tt.same([x.net.isBlocked('a', 'b'), x.net.isBlocked('a', 'c'), x.net.isBlocked('c', 'b')], [false, true, true])
  for (const [from, to] of [['a', 'b'], ['b', 'a'], ['a', 'c'], ['c', 'a'], ['b', 'c'], ['c', 'b']] as const) send(x, from, to, { from, to })
  await waitFor(() => x.inbox.a?.length === 1 && x.inbox.b?.length === 1, 'within-group delivery')
  await sleep(20)
  tt.same([x.inbox.a?.[0]?.from, x.inbox.b?.[0]?.from, x.inbox.c?.length], ['b', 'a', 0])
  x.net.heal()
  send(x, 'a', 'c', { after: true })
  await waitFor(() => x.inbox.c?.length === 1, 'delivery after heal')
})

t.test('delay(ms) holds messages back and keeps per-pair order', async (tt) => {
  const x = await trio(tt)
  x.net.delay(80)
  const started = performance.now()
  send(x, 'a', 'b', { n: 0 })
  x.net.delay(0)
  send(x, 'a', 'b', { n: 1 })
  await sleep(30)
  tt.equal(x.inbox.b?.length, 0, 'the later, undelayed message waits behind the delayed one')
  await waitFor(() => x.inbox.b?.length === 2, 'delayed delivery')
  tt.ok(performance.now() - started >= 75, 'took about the delay')
  tt.same(x.inbox.b?.map((r) => (r.message as { n: number }).n), [0, 1])
  tt.throws(() => x.net.delay(-1), TypeError)
})

t.test('a listen name is taken once per hub; separate hubs are separate', async (tt) => {
  const x = await trio(tt)
  await tt.rejects(x.net.transport({ id: 'z', listen: 'memory://a', peers: {} }, () => {}), /already in use/)
  const other = await new MemoryNetwork().transport({ id: 'z', listen: 'memory://a', peers: {} }, () => {})
  await other.stop()
})
