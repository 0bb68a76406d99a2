/**
 * Goal: a ZooKeeper client (node-zookeeper-client, written by nobody here) whose peer dies
 * reconnects to another peer of the ensemble with its session id and password and keeps its
 * session: its ephemeral outlives the session timeout, and its watches (re-registered by the
 * client with setWatches) fire; a client presenting a wrong password is told its session
 * expired.
 * Method: three peer processes over TCP on loopback, each with a ZooKeeper client port; the
 * client is given all three ports; the process it is attached to gets kill -9. Then the same
 * with in-process peers, one of which stops gracefully. Outcomes are read back through the
 * clients. Every process and peer is stopped in teardown.
 */
import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import zookeeperModule from 'node-zookeeper-client'
import { Peer } from '../../lib/index.js'
import { silentLogger } from '../../lib/env.js'
import { MemoryNetwork } from '../../transports/index.js'
import { Cluster } from '../cluster/cluster.js'

interface ZkStat { ephemeralOwner: Buffer }
interface ZkErr extends Error { getCode (): number }
interface ZkEvent { name: string, path: string }
interface ZkClient {
  connect (): void
  close (): void
  on (ev: 'state', fn: (s: { name: string }) => void): void
  once (ev: 'connected' | 'disconnected' | 'expired', fn: () => void): void
  getSessionId (): Buffer
  getSessionPassword (): Buffer
  create (path: string, data: Buffer | null, acls: unknown[], mode: number, cb: (err: ZkErr | null, path: string) => void): void
  setData (path: string, data: Buffer, version: number, cb: (err: ZkErr | null, stat: ZkStat) => void): void
  exists (path: string, watcher: ((e: ZkEvent) => void) | null, cb: (err: ZkErr | null, stat: ZkStat | null) => void): void
  getChildren (path: string, watcher: ((e: ZkEvent) => void) | null, cb: (err: ZkErr | null, children: string[]) => void): void
}
interface ZkModule {
  createClient (conn: string, opts: { sessionTimeout: number, spinDelay?: number, retries?: number, sessionId?: Buffer, sessionPassword?: Buffer }): ZkClient
  ACL: new (perms: number, id: unknown) => unknown
  Id: new (scheme: string, id: string) => unknown
  Permission: { ALL: number }
  CreateMode: { PERSISTENT: number, EPHEMERAL: number }
}
const zookeeper = zookeeperModule as ZkModule
const OPEN = [new zookeeper.ACL(zookeeper.Permission.ALL, new zookeeper.Id('world', 'anyone'))]
const SESSION_MS = 4_000

function call<T> (fn: (cb: (err: ZkErr | null, v: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, v) => err ? reject(err) : resolve(v)))
}

function connected (c: ZkClient): Promise<void> {
  return new Promise((resolve) => { c.once('connected', resolve); c.connect() })
}

/** Polls `ok` every 20 ms for at most `ms`. */
async function until (ok: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await sleep(20)
  }
}

t.test('a client whose peer is killed keeps its session, ephemeral and watches on another peer', async (t) => {
  const cluster = await Cluster.start({ size: 3, zkListen: true, sessionTimeoutMs: SESSION_MS })
  t.teardown(() => cluster.stop())
  const hosts = [...cluster.zkPorts.values()].map((p) => `127.0.0.1:${p}`).join(',')
  const client = zookeeper.createClient(hosts, { sessionTimeout: SESSION_MS, spinDelay: 50, retries: 0 })
  await connected(client)
  t.teardown(() => client.close())
  const states: string[] = []
  client.on('state', (s) => states.push(s.name))

  await call((cb) => client.create('/eph', Buffer.from('e'), OPEN, zookeeper.CreateMode.EPHEMERAL, cb))
  await call((cb) => client.create('/watched', Buffer.from('0'), OPEN, zookeeper.CreateMode.PERSISTENT, cb))
  const dataEvent = new Promise<string>((resolve) => { client.exists('/watched', (e) => resolve(e.name), () => {}) })
  const childEvent = new Promise<string>((resolve) => { client.getChildren('/watched', (e) => resolve(e.name), () => {}) })

  // The peer holding the session is the one with a local session.
  const statuses = await Promise.all([...cluster.peers.entries()].map(async ([id, p]) => [id, await p.request<{ localSessions: number }>({ cmd: 'status' })] as const))
  const holder = statuses.find(([, s]) => s.localSessions === 1)?.[0]
  t.ok(holder !== undefined, `the session is held by one peer (${holder})`)
  t.comment(`killing ${holder}, ${holder === await cluster.leader() ? 'the leader' : 'a follower'}`)
  await cluster.peer(holder!).kill()

  await until(() => states.includes('DISCONNECTED') && states.at(-1) !== 'DISCONNECTED', 30_000, 'the client reconnects')
  t.ok(states.includes('DISCONNECTED') && !states.includes('EXPIRED'), `the client reconnected without losing its session (${states.join(' → ')})`)
  const others = [...cluster.peers.keys()].filter((id) => id !== holder)
  const after = await Promise.all(others.map((id) => cluster.peer(id).request<{ localSessions: number }>({ cmd: 'status' })))
  t.equal(after.reduce((n, s) => n + s.localSessions, 0), 1, 'another peer holds it now')

  await sleep(SESSION_MS * 1.5)
  const stat = await call<ZkStat | null>((cb) => client.exists('/eph', null, cb))
  t.ok(stat !== null, 'past the session timeout the ephemeral is still there')
  t.same(stat?.ephemeralOwner, client.getSessionId(), 'owned by the same session')

  const writerHost = `127.0.0.1:${cluster.zkPorts.get(others[0]!)}`
  const writer = zookeeper.createClient(writerHost, { sessionTimeout: SESSION_MS, retries: 0 })
  await connected(writer)
  t.teardown(() => writer.close())
  await call((cb) => writer.setData('/watched', Buffer.from('1'), -1, cb))
  await call((cb) => writer.create('/watched/kid', null, OPEN, zookeeper.CreateMode.PERSISTENT, cb))
  t.equal(await dataEvent, 'NODE_DATA_CHANGED', 'the data watch set on the killed peer fired')
  t.equal(await childEvent, 'NODE_CHILDREN_CHANGED', 'and the child watch')

  const wrong = client.getSessionPassword()
  wrong[0] = (wrong[0]! + 1) % 256
  const impostor = zookeeper.createClient(writerHost, { sessionTimeout: SESSION_MS, retries: 0, sessionId: client.getSessionId(), sessionPassword: wrong })
  const expired = new Promise<void>((resolve) => { impostor.once('expired', resolve) })
  impostor.connect()
  await expired
  impostor.close()
  t.pass('a wrong password is answered as an expired session')
  t.ok(await call<ZkStat | null>((cb) => client.exists('/eph', null, cb)) !== null, 'and leaves the session alone')
})

t.test('a peer that stops gracefully hands its clients\' sessions over: they move, nothing expires', async (t) => {
  const net = new MemoryNetwork()
  const ensemble = { a: 'memory://zkmove-a', b: 'memory://zkmove-b', c: 'memory://zkmove-c' }
  const peers = await Promise.all(Object.keys(ensemble).map((id) => Peer.start({
    id, listen: ensemble[id as 'a'], ensemble, transport: net.transport, tickMs: 10, log: silentLogger,
    zkListen: 'tcp://127.0.0.1:0', minSessionTimeoutMs: 200,
  })))
  t.teardown(async () => { for (const p of peers) await p.stop() })
  await Promise.all(peers.map((p) => p.ready()))
  const client = zookeeper.createClient(peers.map((p) => p.zkUrl!.replace('tcp://', '')).join(','), { sessionTimeout: SESSION_MS, spinDelay: 50, retries: 0 })
  await connected(client)
  t.teardown(() => client.close())
  const states: string[] = []
  client.on('state', (s) => states.push(s.name))
  const holder = peers.find((p) => p.status().localSessions === 1)!
  await call((cb) => client.create('/kept', null, OPEN, zookeeper.CreateMode.EPHEMERAL, cb))
  await holder.stop()
  await until(() => states.includes('DISCONNECTED') && states.at(-1) !== 'DISCONNECTED', 20_000, 'the client reconnects')
  t.notOk(states.includes('EXPIRED'), `the session survived its peer's stop (${states.join(' → ')})`)
  await sleep(SESSION_MS * 1.5)
  t.ok(await call<ZkStat | null>((cb) => client.exists('/kept', null, cb)) !== null, 'its ephemeral outlived the session timeout')
  t.equal(peers.filter((p) => p !== holder).reduce((n, p) => n + p.status().localSessions, 0), 1, 'a remaining peer holds it')
})
