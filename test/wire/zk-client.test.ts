/**
 * Goal: an unmodified ZooKeeper client (node-zookeeper-client, written by nobody here) can use a
 * zkpeer peer through the wire server: every operation it supports, watches, auth, multi,
 * ephemerals going with the session, on a one-member peer and on a follower of a 3-peer
 * ensemble.
 * Method: start peers in-process (memory:// transport, tickMs 10), a server on 127.0.0.1 port 0,
 * and drive the real client through promise wrappers; results are read back through the client
 * and through a zkpeer Session. Everything is stopped in teardown.
 */
import t, { type Test } from 'tap'
import zookeeperModule from 'node-zookeeper-client'
import { Peer } from '../../lib/index.js'
import { silentLogger } from '../../lib/env.js'
import { MemoryNetwork } from '../../transports/index.js'
import { startZkServer, type ZkServer } from '../../lib/wire/zk-server.js'

/** The parts of node-zookeeper-client's API these tests use (the package ships no types). */
interface ZkStat { version: number, cversion: number, aversion: number, numChildren: number, dataLength: number, ephemeralOwner: Buffer }
type Cb<T> = (err: ZkErr | null, v: T) => void
interface ZkErr extends Error { getCode (): number, name: string }
interface ZkEvent { type: number, name: string, path: string, getType (): number }
type Watcher = (e: ZkEvent) => void
interface ZkTransaction {
  create (path: string, data?: Buffer, acls?: unknown[], mode?: number): ZkTransaction
  setData (path: string, data: Buffer, version?: number): ZkTransaction
  check (path: string, version?: number): ZkTransaction
  remove (path: string, version?: number): ZkTransaction
  commit (cb: (err: ZkErr | null, results: Array<{ type: number, path?: string, err?: number }>) => void): void
}
interface ZkClient {
  connect (): void
  close (): void
  once (ev: 'connected' | 'disconnected' | 'expired', fn: () => void): void
  getSessionId (): Buffer
  create (path: string, data: Buffer | null, acls: unknown[], mode: number, cb: Cb<string>): void
  getData (path: string, watcher: Watcher | null, cb: (err: ZkErr | null, data: Buffer, stat: ZkStat) => void): void
  setData (path: string, data: Buffer, version: number, cb: Cb<ZkStat>): void
  exists (path: string, watcher: Watcher | null, cb: Cb<ZkStat | null>): void
  getChildren (path: string, watcher: Watcher | null, cb: (err: ZkErr | null, children: string[], stat: ZkStat) => void): void
  remove (path: string, version: number, cb: (err: ZkErr | null) => void): void
  getACL (path: string, cb: (err: ZkErr | null, acls: Array<{ permission: number, id: { scheme: string, id: string } }>, stat: ZkStat) => void): void
  setACL (path: string, acls: unknown[], version: number, cb: Cb<ZkStat>): void
  addAuthInfo (scheme: string, auth: Buffer): void
  mkdirp (path: string, cb: Cb<string>): void
  transaction (): ZkTransaction
}
interface ZkModule {
  createClient (conn: string, opts: { sessionTimeout: number, spinDelay?: number, retries?: number }): ZkClient
  ACL: new (perms: number, id: unknown) => unknown
  Id: new (scheme: string, id: string) => unknown
  Permission: { ALL: number, READ: number, WRITE: number }
  CreateMode: { PERSISTENT: number, EPHEMERAL: number, PERSISTENT_SEQUENTIAL: number, EPHEMERAL_SEQUENTIAL: number }
  Event: { NODE_CREATED: number, NODE_DELETED: number, NODE_DATA_CHANGED: number, NODE_CHILDREN_CHANGED: number }
  Exception: { NO_NODE: number, NODE_EXISTS: number, BAD_VERSION: number, NO_AUTH: number, NOT_EMPTY: number }
}
const zookeeper = zookeeperModule as ZkModule
const OPEN = [new zookeeper.ACL(zookeeper.Permission.ALL, new zookeeper.Id('world', 'anyone'))]

let group = 0

async function onePeer (t: Test): Promise<{ peer: Peer, server: ZkServer }> {
  const g = ++group
  const peer = await Peer.start({ id: 'a', listen: `memory://wire${g}-a`, tickMs: 10, log: silentLogger, minSessionTimeoutMs: 200 })
  await peer.ready()
  const server = await startZkServer({ peer, listen: 'tcp://127.0.0.1:0' })
  t.teardown(async () => { await server.stop(); await peer.stop() })
  return { peer, server }
}

async function client (t: Test, server: ZkServer): Promise<ZkClient> {
  const c = zookeeper.createClient(server.url.replace('tcp://', ''), { sessionTimeout: 5000, spinDelay: 100, retries: 0 })
  await new Promise<void>((resolve) => { c.once('connected', resolve); c.connect() })
  t.teardown(() => c.close())
  return c
}

function call<T> (fn: (cb: (err: ZkErr | null, v: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, v) => err ? reject(err) : resolve(v)))
}
function call2<A, B> (fn: (cb: (err: ZkErr | null, a: A, b: B) => void) => void): Promise<[A, B]> {
  return new Promise((resolve, reject) => fn((err, a, b) => err ? reject(err) : resolve([a, b])))
}
async function code (p: Promise<unknown>): Promise<number> {
  try {
    await p
    return 0
  } catch (err) {
    return (err as ZkErr).getCode()
  }
}

t.test('basic operations through a real client', async (t) => {
  const { peer, server } = await onePeer(t)
  const zk = await client(t, server)
  const P = zookeeper.CreateMode
  t.equal(await call<string>((cb) => zk.create('/a', Buffer.from('one'), OPEN, P.PERSISTENT, cb)), '/a')
  t.equal(await code(call<string>((cb) => zk.create('/a', null, OPEN, P.PERSISTENT, cb))), zookeeper.Exception.NODE_EXISTS)
  const seq = await call<string>((cb) => zk.create('/a/s-', null, OPEN, P.PERSISTENT_SEQUENTIAL, cb))
  t.equal(seq, '/a/s-0000000000')
  const [data, stat] = await call2<Buffer, ZkStat>((cb) => zk.getData('/a', null, cb))
  t.equal(data.toString(), 'one')
  t.equal(stat.version, 0)
  t.equal(stat.numChildren, 1)
  const st = await call<ZkStat>((cb) => zk.setData('/a', Buffer.from('two'), 0, cb))
  t.equal(st.version, 1)
  t.equal(await code(call<ZkStat>((cb) => zk.setData('/a', Buffer.from('x'), 0, cb))), zookeeper.Exception.BAD_VERSION)
  t.ok(await call<ZkStat | null>((cb) => zk.exists('/a', null, cb)))
  t.equal(await call<ZkStat | null>((cb) => zk.exists('/nope', null, cb)), null)
  t.equal(await code(call2((cb) => zk.getData('/nope', null, cb))), zookeeper.Exception.NO_NODE)
  const [children, cstat] = await call2<string[], ZkStat>((cb) => zk.getChildren('/a', null, cb))
  t.same(children, ['s-0000000000'])
  t.equal(cstat.numChildren, 1)
  t.equal(await code(call((cb) => zk.remove('/a', -1, (e) => cb(e, undefined)))), zookeeper.Exception.NOT_EMPTY)
  await call((cb) => zk.remove(seq, -1, (e) => cb(e, undefined)))
  await call((cb) => zk.remove('/a', 1, (e) => cb(e, undefined)))
  t.equal(await call<ZkStat | null>((cb) => zk.exists('/a', null, cb)), null)
  t.equal(await call<string>((cb) => zk.mkdirp('/m/n/o', cb)), '/m/n/o')
  const big = Buffer.alloc(500_000, 7)
  await call<ZkStat>((cb) => zk.setData('/m', big, -1, cb))
  const [bigBack] = await call2<Buffer, ZkStat>((cb) => zk.getData('/m', null, cb))
  t.ok(bigBack.equals(big), 'large data round-trips (replies grow their buffer)')
  // The peer's own view agrees.
  const s = await peer.connect()
  t.equal((await s.exists('/m/n/o')) !== null, true)
  await s.close()
})

t.test('ACLs and digest auth', async (t) => {
  const { server } = await onePeer(t)
  const zk = await client(t, server)
  zk.addAuthInfo('digest', Buffer.from('bob:secret'))
  const acl = [new zookeeper.ACL(zookeeper.Permission.ALL, new zookeeper.Id('digest', 'bob:fyVmFCwVbTJYrznoSu1koqYEYF0='))]
  await call<string>((cb) => zk.create('/private', Buffer.from('s'), acl, zookeeper.CreateMode.PERSISTENT, cb))
  const [acls] = await call2<Array<{ permission: number, id: { scheme: string, id: string } }>, ZkStat>((cb) => zk.getACL('/private', cb))
  t.equal(acls[0]?.id.id, 'bob:fyVmFCwVbTJYrznoSu1koqYEYF0=')
  const [d] = await call2<Buffer, ZkStat>((cb) => zk.getData('/private', null, cb))
  t.equal(d.toString(), 's')
  const other = await client(t, server)
  t.equal(await code(call2((cb) => other.getData('/private', null, cb))), zookeeper.Exception.NO_AUTH)
  const st = await call<ZkStat>((cb) => zk.setACL('/private', OPEN, 0, cb))
  t.equal(st.aversion, 1)
  const [d2] = await call2<Buffer, ZkStat>((cb) => other.getData('/private', null, cb))
  t.equal(d2.toString(), 's', 'readable once the ACL is open')
})

t.test('transactions (multi)', async (t) => {
  const { server } = await onePeer(t)
  const zk = await client(t, server)
  const results = await call<Array<{ type: number, path?: string }>>((cb) => zk.transaction()
    .create('/t', Buffer.from('x'))
    .create('/t/c', Buffer.from('y'))
    .setData('/t', Buffer.from('z'), 0)
    .check('/t', 1)
    .commit(cb))
  t.equal(results.length, 4)
  t.equal(results[0]?.path, '/t')
  const failed = await code(call((cb) => zk.transaction().remove('/t/c').check('/t', 99).commit(cb)))
  t.equal(failed, zookeeper.Exception.BAD_VERSION)
  t.ok(await call<ZkStat | null>((cb) => zk.exists('/t/c', null, cb)), 'a failed multi changes nothing')
})

t.test('watches fire, in order with replies', async (t) => {
  const { server } = await onePeer(t)
  const zk = await client(t, server)
  const writer = await client(t, server)
  const events: string[] = []
  const fired = (n: number): Promise<void> => new Promise((resolve) => {
    const check = (): void => { if (events.length >= n) resolve(); else setTimeout(check, 5) }
    check()
  })
  await call<ZkStat | null>((cb) => zk.exists('/w', (e) => events.push(`exists ${e.name} ${e.path}`), cb))
  await call<string>((cb) => writer.create('/w', Buffer.from('1'), OPEN, zookeeper.CreateMode.PERSISTENT, cb))
  await fired(1)
  await call2((cb) => zk.getData('/w', (e) => events.push(`data ${e.name} ${e.path}`), cb))
  await call2((cb) => zk.getChildren('/w', (e) => events.push(`child ${e.name} ${e.path}`), cb))
  await call<ZkStat>((cb) => writer.setData('/w', Buffer.from('2'), -1, cb))
  await fired(2)
  await call<string>((cb) => writer.create('/w/k', null, OPEN, zookeeper.CreateMode.PERSISTENT, cb))
  await fired(3)
  t.same(events, ['exists NODE_CREATED /w', 'data NODE_DATA_CHANGED /w', 'child NODE_CHILDREN_CHANGED /w'])
  // The writer's own watch: the event arrives before the write's reply.
  const order: string[] = []
  await call2((cb) => writer.getData('/w', () => order.push('event'), cb))
  await call<ZkStat>((cb) => writer.setData('/w', Buffer.from('3'), -1, cb))
  order.push('reply')
  t.same(order, ['event', 'reply'])
})

t.test('ephemerals go when the client closes', async (t) => {
  const { server } = await onePeer(t)
  const owner = await client(t, server)
  const watcher = await client(t, server)
  await call<string>((cb) => owner.create('/e', null, OPEN, zookeeper.CreateMode.EPHEMERAL, cb))
  const gone = new Promise<string>((resolve) => {
    watcher.exists('/e', (e) => resolve(e.name), () => {})
  })
  owner.close()
  t.equal(await gone, 'NODE_DELETED')
  t.equal(await call<ZkStat | null>((cb) => watcher.exists('/e', null, cb)), null)
})

t.test('a 3-peer ensemble served from a follower', async (t) => {
  const net = new MemoryNetwork()
  const g = ++group
  const ensemble = { a: `memory://wire${g}-a`, b: `memory://wire${g}-b`, c: `memory://wire${g}-c` }
  const peers: Peer[] = []
  for (const id of Object.keys(ensemble)) {
    peers.push(await Peer.start({ id, listen: ensemble[id as 'a'], ensemble, transport: net.transport, tickMs: 10, log: silentLogger, minSessionTimeoutMs: 200 }))
  }
  t.teardown(async () => { for (const p of peers) await p.stop() })
  await Promise.all(peers.map((p) => p.ready()))
  const follower = peers.find((p) => p.role !== 'leader') as Peer
  const leader = peers.find((p) => p.role === 'leader') as Peer
  const fs = await startZkServer({ peer: follower, listen: 'tcp://127.0.0.1:0', ensembleSize: 3 })
  const ls = await startZkServer({ peer: leader, listen: 'tcp://127.0.0.1:0', ensembleSize: 3 })
  t.teardown(async () => { await fs.stop(); await ls.stop() })
  const a = await client(t, fs)
  const b = await client(t, ls)
  const changed = new Promise<string>((resolve) => { b.exists('/ens', (e) => resolve(e.name), () => {}) })
  await call<string>((cb) => a.create('/ens', Buffer.from('v'), OPEN, zookeeper.CreateMode.EPHEMERAL, cb))
  t.equal(await changed, 'NODE_CREATED')
  await call((cb) => b.getData('/ens', null, (e, d) => cb(e, d)))
  const [d] = await call2<Buffer, ZkStat>((cb) => b.getData('/ens', null, cb))
  t.equal(d.toString(), 'v')
})
