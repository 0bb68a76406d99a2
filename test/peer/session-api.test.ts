/**
 * Goal: every Session method of API.md works through the public API on a one-member ensemble,
 * with ZooKeeper's results, stats and error codes.
 * Method: start a real Peer (memory:// listen, memory-level storage), drive it only through
 * `peer.connect()` sessions, and check outcomes, stat fields and errors.
 */
import t, { type Test } from 'tap'
import { CreateMode, Ids, Op, Peer, Perms, ZkError, type Session, type WatchEvent } from '../../lib/index.js'

async function onePeer (t: Test, extra: Partial<Parameters<typeof Peer.start>[0]> = {}): Promise<{ peer: Peer, zk: Session }> {
  const peer = await Peer.start({ id: 'solo', listen: `memory://session-api-${Math.random()}`, tickMs: 10, ...extra })
  t.teardown(() => peer.stop())
  await peer.ready()
  const zk = await peer.connect()
  return { peer, zk }
}

async function rejectsCode (t: Test, p: Promise<unknown>, code: string, msg?: string): Promise<ZkError> {
  try {
    await p
  } catch (err) {
    t.ok(err instanceof ZkError, `${msg ?? code}: a ZkError`)
    t.equal((err as ZkError).code, code, msg ?? `rejects with ${code}`)
    return err as ZkError
  }
  t.fail(`${msg ?? code}: expected a rejection with ${code}`)
  return new ZkError('SYSTEMERROR')
}

t.test('a one-member peer elects itself and serves the system nodes', async (t) => {
  const { peer, zk } = await onePeer(t)
  t.equal(peer.role, 'leader')
  t.equal(peer.leaderId, 'solo')
  t.same(await zk.getChildren('/'), ['zookeeper'])
  t.same(await zk.getChildren('/zookeeper'), ['config', 'quota'])
  const root = await zk.exists('/')
  t.equal(root?.cversion, -1, 'root reports cversion -1')
  t.equal(typeof zk.sessionId, 'bigint')
  t.equal(zk.state, 'connected')
  const status = peer.status()
  t.equal(status.role, 'leader')
  t.equal(status.znodes, 4)
  t.equal(status.localSessions, 1)
})

t.test('create, getData, setData, delete with exact stat transitions', async (t) => {
  const { zk } = await onePeer(t)
  t.equal(await zk.create('/app', 'hello'), '/app')
  const { data, stat } = await zk.getData('/app')
  t.equal(data.toString(), 'hello')
  t.ok(Buffer.isBuffer(data))
  t.equal(stat.version, 0)
  t.equal(stat.czxid, stat.mzxid)
  t.equal(stat.pzxid, stat.czxid)
  t.equal(stat.dataLength, 5)
  t.equal(stat.ephemeralOwner, 0n)
  t.equal(stat.ctime, stat.mtime)

  const s1 = await zk.setData('/app', 'world')
  t.equal(s1.version, 1)
  t.ok(s1.mzxid > stat.mzxid, 'mzxid advances')
  t.equal(s1.czxid, stat.czxid)
  const s2 = await zk.setData('/app', 'world', 1)
  t.equal(s2.version, 2, 'identical bytes still bump the version')
  await rejectsCode(t, zk.setData('/app', 'x', 1), 'BADVERSION')

  await zk.create('/app/child', Buffer.from([1, 2, 3]))
  const parent = await zk.exists('/app')
  t.equal(parent?.numChildren, 1)
  t.equal(parent?.cversion, 1)
  t.equal(parent?.version, 2, 'a child create leaves the parent version alone')
  t.equal(parent?.mzxid, s2.mzxid, 'and its mzxid')
  t.ok((parent?.pzxid ?? 0) > s2.mzxid, 'but moves its pzxid')

  await rejectsCode(t, zk.delete('/app'), 'NOTEMPTY')
  await rejectsCode(t, zk.delete('/app/child', 5), 'BADVERSION')
  await zk.delete('/app/child', 0)
  const after = await zk.exists('/app')
  t.equal(after?.numChildren, 0)
  t.equal(after?.cversion, 2, 'cversion counts creates and deletes')
  await zk.delete('/app')
  t.equal(await zk.exists('/app'), null)
  await rejectsCode(t, zk.getData('/app'), 'NONODE')
  await rejectsCode(t, zk.setData('/app', 'x'), 'NONODE')
  await rejectsCode(t, zk.delete('/app'), 'NONODE')
  await rejectsCode(t, zk.create('/missing/child'), 'NONODE')
  await zk.create('/dup')
  await rejectsCode(t, zk.create('/dup'), 'NODEEXISTS')
})

t.test('sequential nodes take a 10-digit counter from the parent', async (t) => {
  const { zk } = await onePeer(t)
  await zk.create('/q')
  t.equal(await zk.create('/q/item-', 'a', { mode: CreateMode.PERSISTENT_SEQUENTIAL }), '/q/item-0000000000')
  await zk.create('/q/plain')
  t.equal(await zk.create('/q/item-', 'b', { mode: CreateMode.PERSISTENT_SEQUENTIAL }), '/q/item-0000000002', 'every child create advances the counter')
  await zk.delete('/q/item-0000000000')
  t.equal(await zk.create('/q/', 'c', { mode: CreateMode.PERSISTENT_SEQUENTIAL }), '/q/0000000003', 'deletes do not; a bare parent path is legal')
  t.same(await zk.getChildren('/q'), ['0000000003', 'item-0000000002', 'plain'], 'children sorted')
})

t.test('ephemeral nodes belong to their session and go with it', async (t) => {
  const { peer, zk } = await onePeer(t)
  const other = await peer.connect()
  const p = await zk.create('/eph', 'x', { mode: CreateMode.EPHEMERAL })
  const stat = await other.exists(p)
  t.equal(stat?.ephemeralOwner, zk.sessionId)
  await rejectsCode(t, zk.create('/eph/child'), 'NOCHILDRENFOREPHEMERALS')
  const seq = await zk.create('/eph-', '', { mode: CreateMode.EPHEMERAL_SEQUENTIAL })
  t.match(seq, /^\/eph-\d{10}$/)
  t.same((await zk.getEphemerals()).sort(), ['/eph', seq].sort())
  const events: WatchEvent[] = []
  await other.exists('/eph', { watch: (e) => events.push(e) })
  await zk.close()
  t.equal(zk.state, 'closed')
  t.equal(await other.exists('/eph'), null, 'ephemeral deleted on close')
  t.equal(await other.exists(seq), null)
  t.same(events.map((e) => e.type), ['NodeDeleted'])
  await rejectsCode(t, zk.getData('/'), 'SESSIONEXPIRED', 'a closed session refuses operations')
})

t.test('one-shot watches fire once, in ZooKeeper order, before the write resolves', async (t) => {
  const { peer, zk } = await onePeer(t)
  const other = await peer.connect()
  const log: string[] = []
  await zk.exists('/w', { watch: (e) => log.push(`exists:${e.type}:${e.path}`) })
  await zk.getChildren('/', { watch: (e) => log.push(`children:${e.type}:${e.path}`) })
  await other.create('/w', 'a')
  log.push('created')
  t.same(log, ['exists:NodeCreated:/w', 'children:NodeChildrenChanged:/', 'created'], 'events before the write resolves')
  log.length = 0
  const listener = (e: WatchEvent): void => { log.push(`data:${e.type}`) }
  await zk.getData('/w', { watch: listener })
  await zk.exists('/w', { watch: listener })
  await other.setData('/w', 'b')
  await other.setData('/w', 'c')
  t.same(log, ['data:NodeDataChanged'], 'one listener registered twice fires once, and only once')
  log.length = 0
  await zk.getChildren('/w', { watch: (e) => log.push(`child:${e.type}`) })
  await zk.getData('/w', { watch: (e) => log.push(`data:${e.type}`) })
  await other.delete('/w')
  t.same(log.sort(), ['child:NodeDeleted', 'data:NodeDeleted'])
  await rejectsCode(t, zk.getData('/w', { watch: () => log.push('never') }), 'NONODE')
  await other.create('/w')
  t.same(log.sort(), ['child:NodeDeleted', 'data:NodeDeleted'], 'a failed getData sets no watch')
  t.equal(peer.status().watches, 0)
})

t.test('persistent and recursive watches (addWatch) and the watch() iterator', async (t) => {
  const { peer, zk } = await onePeer(t)
  const other = await peer.connect()
  const persistent: string[] = []
  const recursive: string[] = []
  const removeP = zk.addWatch('/p', (e) => persistent.push(`${e.type}:${e.path}`))
  const removeR = zk.addWatch('/p', (e) => recursive.push(`${e.type}:${e.path}`), { recursive: true })
  await other.create('/p')
  await other.create('/p/a')
  await other.setData('/p/a', 'x')
  await other.setData('/p', 'y')
  await other.delete('/p/a')
  await other.delete('/p')
  t.same(persistent, ['NodeCreated:/p', 'NodeChildrenChanged:/p', 'NodeDataChanged:/p', 'NodeChildrenChanged:/p', 'NodeDeleted:/p'])
  t.same(recursive, ['NodeCreated:/p', 'NodeCreated:/p/a', 'NodeDataChanged:/p/a', 'NodeDataChanged:/p', 'NodeDeleted:/p/a', 'NodeDeleted:/p'], 'recursive never sees NodeChildrenChanged')
  removeP()
  removeR()
  await other.create('/p')
  t.equal(persistent.length, 5, 'removed watches stay quiet')

  const seen: WatchEvent[] = []
  const iterating = (async () => {
    for await (const e of zk.watch('/it', { recursive: true })) {
      seen.push(e)
      if (seen.length === 3) break
    }
  })()
  await other.create('/it')
  await other.create('/it/x')
  await other.setData('/it/x', '1')
  await iterating
  t.same(seen.map((e) => e.type), ['NodeCreated', 'NodeCreated', 'NodeDataChanged'])
  t.ok(seen.every((e) => typeof e.zxid === 'number'), 'events carry the zxid')
  const ended = (async () => { for await (const _ of zk.watch('/never')) { /* none */ } return 'ended' })()
  await zk.close()
  t.equal(await ended, 'ended', 'the iterator ends when the session ends')
})

t.test('multi is atomic, with per-op results', async (t) => {
  const { zk } = await onePeer(t)
  t.same(await zk.multi([]), [])
  const results = await zk.multi([
    Op.create('/m', 'a'),
    Op.create('/m/b', 'b'),
    Op.setData('/m', 'c', 0),
    Op.check('/m', 1),
  ])
  t.same(results.map((r) => r.type), ['create', 'create', 'setData', 'check'])
  const parent = await zk.exists('/m')
  t.equal(parent?.cversion, 1)
  t.equal(parent?.version, 1)
  const err = await rejectsCode(t, zk.multi([
    Op.create('/m/c'),
    Op.delete('/m/nope'),
    Op.setData('/m', 'z'),
  ]), 'NONODE')
  t.same((err.results as Array<{ rc: number }>).map((r) => r.rc), [0, -101, -2], 'OK, the failing code, then RUNTIMEINCONSISTENCY')
  t.equal(await zk.exists('/m/c'), null, 'nothing applied')
  t.equal((await zk.exists('/m'))?.version, 1)
  await rejectsCode(t, zk.multi([Op.check('/m', 7)]), 'BADVERSION')
  await rejectsCode(t, zk.multi([Op.create('bad')]), 'BADARGUMENTS')
})

t.test('ACLs: digest auth, NOAUTH, INVALIDACL, getACL masking', async (t) => {
  const { peer, zk } = await onePeer(t)
  const stranger = await peer.connect()
  await rejectsCode(t, zk.create('/secure', '', { acl: Ids.CREATOR_ALL_ACL }), 'INVALIDACL', 'auth scheme before any addAuth')
  await zk.addAuth('digest', 'bob:secret')
  await zk.create('/secure', 'top', { acl: Ids.CREATOR_ALL_ACL })
  const { acl } = await zk.getACL('/secure')
  t.same(acl, [{ perms: Perms.ALL, id: { scheme: 'digest', id: 'bob:fyVmFCwVbTJYrznoSu1koqYEYF0=' } }])
  await rejectsCode(t, stranger.getData('/secure'), 'NOAUTH')
  await rejectsCode(t, stranger.setData('/secure', 'x'), 'NOAUTH')
  await rejectsCode(t, stranger.create('/secure/x'), 'NOAUTH')
  t.ok(await stranger.exists('/nothing') === null)
  const reader = await peer.connect({ auth: [{ scheme: 'digest', credentials: 'bob:secret' }] })
  t.equal((await reader.getData('/secure')).data.toString(), 'top')
  await zk.create('/ro', 'r', { acl: Ids.READ_ACL_UNSAFE })
  await rejectsCode(t, stranger.setData('/ro', 'x'), 'NOAUTH')
  t.equal((await stranger.getData('/ro')).data.toString(), 'r')
  await rejectsCode(t, zk.setACL('/ro', []), 'INVALIDACL')
  await rejectsCode(t, zk.setACL('/ro', [{ perms: 31, id: { scheme: 'world', id: 'someone' } }]), 'INVALIDACL')
  await rejectsCode(t, zk.setACL('/ro', Ids.OPEN_ACL_UNSAFE), 'NOAUTH', 'setACL needs ADMIN')
  await zk.create('/open')
  const s = await zk.setACL('/open', Ids.OPEN_ACL_UNSAFE, 0)
  t.equal(s.aversion, 1)
  t.equal(s.version, 0, 'setACL leaves version and mzxid alone')
  await rejectsCode(t, zk.setACL('/open', Ids.OPEN_ACL_UNSAFE, 0), 'BADVERSION')
  await zk.setACL('/open', Ids.READ_ACL_UNSAFE, 1)
  await rejectsCode(t, zk.setACL('/open', Ids.OPEN_ACL_UNSAFE, 0), 'NOAUTH', 'NOAUTH is checked before the ACL version')
  await rejectsCode(t, zk.addAuth('kerberos', 'x'), 'AUTHFAILED')
  await rejectsCode(t, zk.delete('/zookeeper'), 'BADARGUMENTS')
  await rejectsCode(t, zk.setData('/zookeeper/config', 'x'), 'NOAUTH')
})

t.test('bad input is refused with BADARGUMENTS and changes nothing', async (t) => {
  const { peer, zk } = await onePeer(t)
  const before = peer.status().zxid
  for (const path of ['a', '/a/', '/a//b', '/./x', '/x/..', '', 'nul\u0000', '/nul\u0000x', '/emoji\u{1F600}']) {
    await rejectsCode(t, zk.create(path), 'BADARGUMENTS', `create ${JSON.stringify(path)}`)
    await rejectsCode(t, zk.getData(path), 'BADARGUMENTS', `getData ${JSON.stringify(path)}`)
  }
  await rejectsCode(t, zk.create(42 as unknown as string), 'BADARGUMENTS', 'non-string path')
  await rejectsCode(t, zk.create('/big', Buffer.alloc(1024 * 1024 + 1)), 'BADARGUMENTS', 'oversized data')
  await rejectsCode(t, zk.create('/obj', { not: 'bytes' } as unknown as string), 'BADARGUMENTS', 'non-buffer data')
  await rejectsCode(t, zk.create('/ttl', '', { mode: CreateMode.PERSISTENT_WITH_TTL }), 'BADARGUMENTS', 'ttl mode without ttl')
  await rejectsCode(t, zk.create('/ttl', '', { ttlMs: 5 }), 'BADARGUMENTS', 'ttl without ttl mode')
  await rejectsCode(t, zk.create('/mode', '', { mode: 9 as 0 }), 'BADARGUMENTS', 'unknown mode')
  await rejectsCode(t, zk.setData('/zookeeper', 'x', 1.5), 'BADARGUMENTS', 'fractional version')
  await rejectsCode(t, zk.create('/acl', '', { acl: [{ perms: 'all' }] as never }), 'INVALIDACL', 'malformed ACL')
  t.ok(await zk.create('/...'), 'a segment of three dots is legal')
  t.equal(peer.status().zxid, before + 1, 'only the legal create reached the log')
})

t.test('sync makes a read current; reads follow a session\'s own writes (FIFO)', async (t) => {
  const { zk } = await onePeer(t)
  await zk.sync()
  await zk.sync('/any/path')
  const created = zk.create('/fifo', 'x')
  const read = zk.getData('/fifo')
  t.equal(await created, '/fifo')
  t.equal((await read).data.toString(), 'x', 'a read issued after a write sees it')
  await rejectsCode(t, zk.sync('bad'), 'BADARGUMENTS')
})

t.test('interleaved writes, reads and a sync settle in issue order; each read sees exactly the writes before it', async (t) => {
  const { zk } = await onePeer(t)
  await zk.create('/seq', '0')
  const order: string[] = []
  const calls: Array<Promise<unknown>> = []
  const expected: string[] = []
  for (let i = 1; i <= 20; i++) {
    calls.push(zk.setData('/seq', String(i)).then((stat) => order.push(`w${i}:v${stat.version}`)))
    calls.push(zk.getData('/seq').then((r) => order.push(`r${i}:${r.data.toString()}`)))
    expected.push(`w${i}:v${i}`, `r${i}:${i}`)
  }
  calls.push(zk.setData('/nope', 'x').catch((err: { code: string }) => order.push(err.code)))
  calls.push(zk.getData('/seq').then((r) => order.push(`after-failure:${r.data.toString()}`)))
  calls.push(zk.sync().then(() => order.push('sync')))
  calls.push(zk.exists('/seq').then((stat) => order.push(`exists:v${stat?.version}`)))
  expected.push('NONODE', 'after-failure:20', 'sync', 'exists:v20')
  await Promise.all(calls)
  t.same(order, expected)
})

t.test('containers and TTL nodes are reaped by the leader', async (t) => {
  const { zk } = await onePeer(t, { reapIntervalMs: 20 })
  await zk.create('/box', '', { mode: CreateMode.CONTAINER })
  t.equal((await zk.exists('/box'))?.ephemeralOwner, 0n, 'containers report owner 0')
  await zk.create('/box/item')
  await zk.create('/ttl', '', { mode: CreateMode.PERSISTENT_WITH_TTL, ttlMs: 30 })
  const gone = new Promise<string[]>((resolve) => {
    const seen: string[] = []
    zk.addWatch('/', (e) => {
      if (e.type === 'NodeDeleted' && e.path !== '/box/item') seen.push(e.path)
      if (seen.length === 2) resolve(seen.sort())
    }, { recursive: true })
  })
  await zk.delete('/box/item')
  t.same(await gone, ['/box', '/ttl'], 'the emptied container and the expired TTL node are deleted')
  await zk.create('/never-used', '', { mode: CreateMode.CONTAINER })
  await zk.sync()
  t.ok(await zk.exists('/never-used'), 'a container that never had a child stays')
})

t.test('review fixes: throwing listeners, bad connect auth, oversized multi, validation results', async (t) => {
  const { peer, zk } = await onePeer(t)
  const thrower = await peer.connect()
  thrower.on('state', () => { throw new Error('a careless listener') })
  peer.on('leader', () => { throw new Error('another one') })
  await thrower.close()
  t.equal(thrower.state, 'closed')
  t.equal(await zk.create('/still-up'), '/still-up', 'the peer keeps running after a listener threw')

  const before = peer.status().sessions
  await rejectsCode(t, peer.connect({ auth: [{ scheme: 'kerberos', credentials: 'x' }] }), 'AUTHFAILED')
  t.equal(peer.status().sessions, before, 'a refused connect leaves no session behind')

  await rejectsCode(t, zk.multi(Array.from({ length: 70_000 }, () => Op.check('/', -1))), 'BADARGUMENTS', 'more ops than a multi holds')
  await rejectsCode(t, zk.multi([Op.create('/big-1', Buffer.alloc(1024 * 1024)), Op.create('/big-2', Buffer.alloc(1024 * 1024))]), 'BADARGUMENTS', 'a request over the size limit')
  const err = await rejectsCode(t, zk.multi([Op.create('/ok'), Op.create('bad'), Op.delete('/x')]), 'BADARGUMENTS')
  t.same((err.results as Array<{ rc: number }>).map((r) => r.rc), [-2, -8, -2], 'the bad op is marked, the others RUNTIMEINCONSISTENCY')
  t.equal(await zk.create('/after'), '/after', 'and the session goes on writing')
})

t.test('stop() is idempotent, also when called concurrently', async (t) => {
  const peer = await Peer.start({ id: 'twice', zkListen: 'tcp://127.0.0.1:0', tickMs: 10 })
  await peer.ready()
  const zk = await peer.connect()
  await Promise.all([peer.stop(), peer.stop()])
  await peer.stop()
  t.equal(zk.state, 'closed', 'its sessions ended once')
  await rejectsCode(t, peer.connect(), 'CONNECTIONLOSS', 'a stopped peer refuses new sessions')
})
