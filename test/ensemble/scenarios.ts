/**
 * Goal: a 3-peer ensemble of separate Node.js processes survives what real deployments meet —
 * kill -9 of the leader under load, restart from disk, a dead process holding ephemerals, a
 * frozen (SIGSTOP) leader, a peer with the wrong secret and a socket sending garbage — and
 * never loses an acknowledged write.
 * Method: the Cluster harness starts peers as child processes on free loopback ports; the
 * test drives sessions inside them over IPC and kills/stops/restarts the processes. Outcomes
 * are checked by reading back through sessions after `sync`; no timing is asserted.
 */
import { connect } from 'node:net'
import type { Test } from 'tap'
import { Cluster, type PeerProcess } from '../cluster/cluster.js'
import type { LoadReport } from '../cluster/protocol.js'

const TICK_MS = 50

async function until (what: string, fn: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await fn().catch(() => false)) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`)
}

async function session (p: PeerProcess, sessionTimeoutMs?: number): Promise<number> {
  const r = await p.request<{ session: number }>({ cmd: 'connect', sessionTimeoutMs })
  return r.session
}

/** Checks on `p` (after sync) that every path exists; returns how many were missing. */
async function missing (p: PeerProcess, s: number, paths: readonly string[]): Promise<number> {
  await p.call(s, 'sync')
  let gone = 0
  for (const path of paths) if (await p.call(s, 'exists', path) === null) gone++
  return gone
}

function followersOf (cluster: Cluster, leader: string): PeerProcess[] {
  return [...cluster.peers.values()].filter((p) => p.id !== leader && p.alive)
}

/** Registers every scenario for one transport scheme. */
export function ensembleScenarios (t: Test, scheme: 'tcp' | 'ws'): void {
  t.test(`${scheme}: kill -9 the leader under load through a follower; restart it from disk`, async (t) => {
    const cluster = await Cluster.start({ size: 3, scheme, durable: true, tickMs: TICK_MS, snapshotEntries: 300 })
    t.teardown(() => cluster.stop())
    const leader = await cluster.leader()
    const [writer, other] = followersOf(cluster, leader)
    const ws = await session(writer!)
    await writer!.call(ws, 'create', '/load')
    await writer!.request({ cmd: 'startLoad', session: ws, prefix: '/load/w', inFlight: 16, bytes: 100 })
    await until('writes flow', async () => ((await writer!.request<{ zxid: number }>({ cmd: 'status' })).zxid > 300))
    await cluster.peer(leader).kill()
    const newLeader = await cluster.leader(20_000, [writer!.id, other!.id], leader)
    t.not(newLeader, leader, 'a new leader takes over')
    const zxidAfterFailover = (await writer!.request<{ zxid: number }>({ cmd: 'status' })).zxid
    await until('writes resume', async () => ((await writer!.request<{ zxid: number }>({ cmd: 'status' })).zxid > zxidAfterFailover + 1500))
    const report = await writer!.request<LoadReport>({ cmd: 'stopLoad' })
    t.ok(report.acked.length > 300, `writes were acknowledged (${report.acked.length})`)
    const os = await session(other!)
    t.equal(await missing(other!, os, report.acked), 0, 'every acknowledged write is present on the other survivor')

    const restarted = await cluster.startPeer(leader)
    await restarted.request({ cmd: 'ready' }, 30_000)
    const rs = await session(restarted)
    t.equal(await missing(restarted, rs, report.acked), 0, 'the restarted peer caught up and serves every acknowledged write')
    const status = await restarted.request<{ snapshotsInstalled: number, zxid: number }>({ cmd: 'status' })
    t.ok(status.snapshotsInstalled >= 1, 'it was far behind, and caught up by snapshot')
    const children = await restarted.call<string[]>(rs, 'getChildren', '/load')
    t.ok(children.length >= report.acked.length, 'its tree holds at least every acknowledged create')
  })

  t.test(`${scheme}: restart a follower from disk; it catches up by log`, async (t) => {
    const cluster = await Cluster.start({ size: 3, scheme, durable: true, tickMs: TICK_MS })
    t.teardown(() => cluster.stop())
    const leader = await cluster.leader()
    const [follower] = followersOf(cluster, leader)
    const l = cluster.peer(leader)
    const ls = await session(l)
    await l.call(ls, 'create', '/before', 'x')
    await follower!.kill()
    for (let i = 0; i < 50; i++) await l.call(ls, 'create', `/during-${i}`, 'y')
    const back = await cluster.startPeer(follower!.id)
    await back.request({ cmd: 'ready' }, 30_000)
    const bs = await session(back)
    await back.call(bs, 'sync')
    t.equal((await back.call<string[]>(bs, 'getChildren', '/')).length, 52, 'all 51 creates and /zookeeper are there')
    const status = await back.request<{ snapshotsInstalled: number }>({ cmd: 'status' })
    t.equal(status.snapshotsInstalled, 0, 'a short absence is caught up by log')
  })

  t.test(`${scheme}: kill -9 a process holding an ephemeral node`, async (t) => {
    const cluster = await Cluster.start({ size: 3, scheme, tickMs: TICK_MS, sessionTimeoutMs: 2_000 })
    t.teardown(() => cluster.stop())
    const [a, b, c] = [cluster.peer('a'), cluster.peer('b'), cluster.peer('c')]
    const as = await session(a, 2_000)
    await a.call(as, 'create', '/owner', '', { mode: 1 })
    const bs = await session(b)
    const events: string[] = []
    b.on('watch', (e: { type: string, path: string }) => events.push(`${e.type} ${e.path}`))
    await b.request({ cmd: 'watch', session: bs, path: '/owner', recursive: false })
    await a.kill()
    await until('the ephemeral is gone on b', async () => (await b.call(bs, 'exists', '/owner')) === null)
    await until('b\'s watch fired', async () => events.includes('NodeDeleted /owner'))
    const cs = await session(c)
    await c.call(cs, 'sync')
    t.equal(await c.call(cs, 'exists', '/owner'), null, 'and gone on c')
    t.same(events, ['NodeDeleted /owner'])
  })

  t.test(`${scheme}: SIGSTOP the leader past the election timeout, then SIGCONT`, async (t) => {
    const cluster = await Cluster.start({ size: 3, scheme, tickMs: TICK_MS, sessionTimeoutMs: 10_000 })
    t.teardown(() => cluster.stop())
    const old = cluster.peer(await cluster.leader())
    const os = await session(old)
    const others = followersOf(cluster, old.id)
    old.signal('SIGSTOP')
    // Sent while frozen: the old leader sees it first thing when it wakes, still believing it leads.
    const pending = old.call(os, 'create', '/while-frozen', 'x').then(() => 'acked', (e: Error) => `failed: ${e.message}`)
    const next = await cluster.leader(20_000, others.map((p) => p.id), old.id)
    t.not(next, old.id, 'the others elect a new leader')
    const fs = await session(others[0]!)
    await others[0]!.call(fs, 'create', '/under-new-leader', 'y')
    old.signal('SIGCONT')
    await until('the old leader steps down', async () => (await old.request<{ role: string, leader?: string }>({ cmd: 'status' })).leader === next)
    const outcome = await pending
    await others[0]!.call(fs, 'sync')
    const present = await others[0]!.call(fs, 'exists', '/while-frozen') !== null
    if (outcome === 'acked') t.ok(present, 'a write the old leader acknowledged was committed by the ensemble')
    else t.pass(`the write was not acknowledged (${outcome})`)
    t.equal(await cluster.leader(20_000), next, 'all three agree on the new leader')
  })

  t.test(`${scheme}: a peer with the wrong secret and a socket sending garbage are refused`, async (t) => {
    const cluster = await Cluster.start({ size: 3, scheme, tickMs: TICK_MS, secret: 'right-secret' })
    t.teardown(() => cluster.stop())
    const leader = await cluster.leader()
    const victim = followersOf(cluster, leader)[0]!
    await victim.kill()
    const impostor = await cluster.startPeer(victim.id, { secret: 'wrong-secret' })
    const port = Number(new URL(cluster.ensemble[leader]!).port)
    await new Promise<void>((resolve) => {
      const sock = connect(port, '127.0.0.1', () => {
        sock.write(Buffer.from('GET / HTTP/1.0\r\n\r\n\u0000\u0001garbage garbage garbage'))
        sock.write(Buffer.alloc(4096, 0xff))
      })
      sock.on('error', () => resolve())
      sock.on('close', () => resolve())
      setTimeout(() => { sock.destroy(); resolve() }, 5_000).unref()
    })
    const l = cluster.peer(leader)
    const ls = await session(l)
    for (let i = 0; i < 20; i++) await l.call(ls, 'create', `/still-${i}`)
    t.equal((await l.call<string[]>(ls, 'getChildren', '/')).length, 21, 'the ensemble keeps serving writes')
    const status = await impostor.request<{ leader?: string, zxid: number }>({ cmd: 'status' })
    t.equal(status.leader, undefined, 'the impostor never joined')
    t.equal(status.zxid, 0, 'and received nothing')
  })
}
