/**
 * Goal: DataTree.apply and the reads follow ZK-SEMANTICS §1–§6: system nodes, every stat
 * transition, sequential numbering, every error code in ZooKeeper's check order, ephemerals and
 * closeSession, containers/TTL reaping, multi atomicity and results, the raw change events.
 * Method: drive a tree with hand-built txns (zxid n at time T0 + n) and inspect results/reads.
 */

import t from 'tap'
import { digestId } from '../../lib/tree/acl.js'
import { DataTree } from '../../lib/tree/data-tree.js'
import { CreateMode, Ids, Perms, type ACL, type Id, type WriteOp } from '../../lib/tree/types.js'
import { Driver, T0, check, create, del, plainStat, setACL, setData } from './tree-helpers.js'

const bob: Id = { scheme: 'digest', id: digestId('bob:secret') }
const superId: Id = { scheme: 'super', id: 'root' }
const only = (perms: number, id: Id): ACL[] => [{ perms, id }]
const stat = (d: Driver, path: string): Record<string, number | string> => plainStat(d.tree.exists(path, [superId])!)
const zero = { czxid: 0, mzxid: 0, pzxid: 0, ctime: 0, mtime: 0, version: 0, aversion: 0, ephemeralOwner: '0', dataLength: 0 }

t.test('a fresh tree holds the system nodes with ZooKeeper\'s stats', async (t) => {
  const d = new Driver()
  t.same(stat(d, '/'), { ...zero, cversion: -1, numChildren: 1 })
  t.same(stat(d, '/zookeeper'), { ...zero, cversion: -2, numChildren: 2 })
  t.same(stat(d, '/zookeeper/quota'), { ...zero, cversion: 0, numChildren: 0 })
  t.same(stat(d, '/zookeeper/config'), { ...zero, cversion: 0, numChildren: 0, aversion: -1 })
  t.same(d.tree.getChildren('/', []), ['zookeeper'])
  t.same(d.tree.getChildren('/zookeeper', []), ['config', 'quota'])
  t.same(d.tree.getACL('/zookeeper/config', []).acl, Ids.READ_ACL_UNSAFE)
  t.same(d.tree.getACL('/', []).acl, Ids.OPEN_ACL_UNSAFE)
  t.equal(d.tree.nodeCount, 4)
  t.equal(d.code(create('/')), 'NODEEXISTS')
  t.equal(d.code(create('/zookeeper')), 'NODEEXISTS')
  for (const p of ['/', '/zookeeper', '/zookeeper/quota', '/zookeeper/config']) {
    t.equal(d.code(del(p)), 'BADARGUMENTS', `delete ${p}`)
    t.equal(d.apply({ kind: 'reap', path: p }).ok, false, `reap ${p}`)
  }
  t.equal(d.code(setData('/zookeeper/config', 'x')), 'NOAUTH', 'config is READ-only for world')
  t.equal(d.code(setData('/zookeeper/config', 'x'), { authIds: [superId] }), 'OK', 'super bypasses')
  t.equal(d.code(create('/zookeeper/mine')), 'OK', 'no server check stops children of /zookeeper')
  d.tree.checkInvariants()
})

t.test('stat transitions (§1 table)', async (t) => {
  const d = new Driver()
  d.ok(create('/p'))
  t.same(stat(d, '/p'), { czxid: 1, mzxid: 1, pzxid: 1, ctime: T0 + 1, mtime: T0 + 1, version: 0, cversion: 0, aversion: 0, ephemeralOwner: '0', dataLength: 0, numChildren: 0 })
  t.same(stat(d, '/'), { ...zero, pzxid: 1, cversion: 0, numChildren: 2 }, 'root: only pzxid, cversion, numChildren move')
  const r = d.op(setData('/p', 'abc'))
  t.ok(r.ok)
  t.same(r.ok && r.results[0], { type: 'setData', stat: d.tree.exists('/p', []) })
  t.same(stat(d, '/p'), { czxid: 1, mzxid: 2, pzxid: 1, ctime: T0 + 1, mtime: T0 + 2, version: 1, cversion: 0, aversion: 0, ephemeralOwner: '0', dataLength: 3, numChildren: 0 })
  d.ok(setData('/p', 'abc'))
  t.match(stat(d, '/p'), { version: 2, mzxid: 3, mtime: T0 + 3 }, 'identical bytes still bump')
  d.ok(setACL('/p', Ids.READ_ACL_UNSAFE.map((a) => ({ ...a, perms: Perms.ALL }))))
  t.match(stat(d, '/p'), { version: 2, mzxid: 3, mtime: T0 + 3, aversion: 1 }, 'setACL leaves mzxid and mtime')
  d.ok(create('/p/a'))
  d.ok(create('/p/b'))
  t.match(stat(d, '/p'), { mzxid: 3, mtime: T0 + 3, version: 2, pzxid: 6, cversion: 2, numChildren: 2 })
  d.ok(del('/p/a'))
  t.match(stat(d, '/p'), { mzxid: 3, pzxid: 7, cversion: 3, numChildren: 1 })
  t.same(d.tree.getData('/p', []).data, Buffer.from('abc'))
})

t.test('sequential numbering', async (t) => {
  const d = new Driver()
  d.ok(create('/q'))
  const seq = (p: string, mode: 0 | 2 | 3 | 6 = CreateMode.PERSISTENT_SEQUENTIAL): WriteOp => create(p, { mode, ...(mode === 6 ? { ttlMs: 1000 } : {}) })
  t.equal(d.ok(seq('/q/lock-')), '/q/lock-0000000000')
  t.equal(d.ok(seq('/q/lock-', CreateMode.EPHEMERAL_SEQUENTIAL)), '/q/lock-0000000001')
  d.ok(create('/q/plain'))
  t.equal(d.ok(seq('/q/lock-', CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL)), '/q/lock-0000000003', 'any child create advances C')
  d.ok(del('/q/plain'))
  t.equal(d.ok(seq('/q/')), '/q/0000000004', 'deletes do not advance C; /q/ names by digits only')
  t.equal(d.code(create('/q/x', { acl: [] })), 'INVALIDACL')
  t.equal(d.ok(seq('/q/x-')), '/q/x-0000000005', 'a failed create does not advance C')
  d.ok(create('/q/n0000000007')) // C: 6 → 7, so the next sequential name is taken
  t.equal(d.code(seq('/q/n')), 'NODEEXISTS', 'the hand-made next name blocks sequential creates')
  t.equal(d.code(seq('/q/n')), 'NODEEXISTS', '... until another create moves C')
  d.ok(create('/q/other'))
  t.equal(d.ok(seq('/q/n')), '/q/n0000000008')
  const m = d.apply({ kind: 'multi', ops: [seq('/q/m-'), seq('/q/m-')] })
  t.same(m.ok && m.results.map((r) => r.type === 'create' && r.path), ['/q/m-0000000009', '/q/m-0000000010'], 'consecutive within a multi')
  t.equal(d.ok(seq('/', CreateMode.PERSISTENT_SEQUENTIAL)), '/0000000001', 'root counts its own creates (zookeeper was not created)')
})

t.test('create check order and errors', async (t) => {
  const d = new Driver()
  d.ok(create('/locked', { acl: only(Perms.READ, { scheme: 'world', id: 'anyone' }) }))
  d.ok(create('/eph', { mode: CreateMode.EPHEMERAL }))
  d.ok(create('/x'))
  t.equal(d.code(create('/nope/a', { acl: [] })), 'INVALIDACL', 'INVALIDACL before parent NONODE')
  t.equal(d.code(create('/nope/a')), 'NONODE')
  t.equal(d.code(create('/locked/a')), 'NOAUTH', 'CREATE on the parent')
  t.equal(d.code(create('/locked/a'), { authIds: [superId] }), 'OK')
  d.ok(setACL('/x', only(Perms.READ, { scheme: 'world', id: 'anyone' })))
  t.equal(d.code(create('/locked/a')), 'NOAUTH', 'NOAUTH before NODEEXISTS')
  t.equal(d.code(create('/x')), 'NODEEXISTS')
  t.equal(d.code(create('/eph/c')), 'NOCHILDRENFOREPHEMERALS')
  t.equal(d.code(create('/eph/c', { mode: CreateMode.EPHEMERAL_SEQUENTIAL })), 'NOCHILDRENFOREPHEMERALS')
  t.equal(d.code(create('/bad/')), 'BADARGUMENTS')
  t.equal(d.code(create('/a\u0000')), 'BADARGUMENTS')
  t.equal(d.code({ op: 'create', path: '/m', data: Buffer.alloc(0), acl: Ids.OPEN_ACL_UNSAFE, mode: 7 as 0 }), 'BADARGUMENTS', 'mode outside 0..6')
  t.equal(d.code(create('/ttl', { mode: CreateMode.PERSISTENT_WITH_TTL })), 'BADARGUMENTS', 'TTL mode needs ttlMs')
  t.equal(d.code(create('/ttl', { mode: CreateMode.PERSISTENT_WITH_TTL, ttlMs: 0 })), 'BADARGUMENTS')
  t.equal(d.code(create('/ttl', { mode: CreateMode.PERSISTENT_WITH_TTL, ttlMs: 2 ** 40 })), 'BADARGUMENTS')
  t.equal(d.code(create('/ttl', { mode: CreateMode.PERSISTENT_WITH_TTL, ttlMs: 2 ** 40 - 1 })), 'OK')
  t.equal(d.code(create('/p', { ttlMs: 5 })), 'BADARGUMENTS', 'non-TTL modes take no ttl')
  t.equal(d.code(create('/e2', { mode: CreateMode.EPHEMERAL }), { sessionId: 0n }), 'BADARGUMENTS', 'ephemerals need a session')
  t.equal(d.code(create('/auth', { acl: Ids.CREATOR_ALL_ACL })), 'INVALIDACL', 'auth before addAuth')
  t.equal(d.code(create('/auth', { acl: Ids.CREATOR_ALL_ACL }), { authIds: [bob] }), 'OK')
  t.same(d.tree.getACL('/auth', [bob]).acl, only(Perms.ALL, bob), 'auth expanded to the session\'s digest id')
  const r = d.op(create('/nope/a'))
  t.ok(!r.ok && r.error.rc === -101 && r.results === undefined)
})

t.test('create past the 2^31-1 create counter is refused', async (t) => {
  const { decodeTree, encodeTree } = await import('../../lib/tree/snapshot.js')
  const d = new Driver()
  d.ok(create('/big'))
  const { store } = decodeTree(d.tree.snapshot())
  store.setCreates(store.id('/big')!, 2 ** 31 - 2)
  const big = new Driver(DataTree.fromSnapshot(encodeTree(store)))
  t.equal(big.ok(create('/big/s-', { mode: CreateMode.PERSISTENT_SEQUENTIAL })), '/big/s-2147483646')
  const r = big.op(create('/big/s-', { mode: CreateMode.PERSISTENT_SEQUENTIAL }))
  t.ok(!r.ok && r.error.code === 'BADARGUMENTS' && /create counter/.test(r.error.message))
  t.equal(big.code(create('/big/plain')), 'BADARGUMENTS', 'every kind of child create advances C')
  t.equal(big.tree.exists('/big', [])!.cversion, (2 * (2 ** 31 - 1) - 1) | 0, 'cversion wraps like Java int')
})

t.test('delete, setData, setACL and check errors in order', async (t) => {
  const d = new Driver()
  const noDelete = only(Perms.ALL & ~Perms.DELETE, { scheme: 'world', id: 'anyone' })
  d.ok(create('/nd', { acl: noDelete }))
  d.ok(create('/nd/c', { acl: only(Perms.ALL, { scheme: 'world', id: 'anyone' }) }), { authIds: [] })
  t.equal(d.code(del('/missing/x')), 'NONODE', 'parent NONODE')
  t.equal(d.code(del('/nd/zz')), 'NOAUTH', 'NOAUTH (parent DELETE) before node NONODE')
  t.equal(d.code(del('/zz')), 'NONODE')
  d.ok(create('/v'))
  d.ok(create('/v/c'))
  t.equal(d.code(del('/v', 5)), 'BADVERSION', 'version before emptiness')
  t.equal(d.code(del('/v', 0)), 'NOTEMPTY')
  t.equal(d.code(del('/v/c', 0)), 'OK')
  t.equal(d.code(del('/a/')), 'BADARGUMENTS')
  t.equal(d.code(del('/v', 1.5)), 'BADARGUMENTS')

  d.ok(create('/ro', { acl: Ids.READ_ACL_UNSAFE }))
  t.equal(d.code(setData('/zz', 'x')), 'NONODE')
  t.equal(d.code(setData('/ro', 'x', 99)), 'NOAUTH', 'NOAUTH before BADVERSION')
  t.equal(d.code(setData('/v', 'x', 99)), 'BADVERSION')
  t.equal(d.code(setData('/v', 'x', 0)), 'OK')

  t.equal(d.code(setACL('/zz', [])), 'INVALIDACL', 'INVALIDACL before NONODE')
  t.equal(d.code(setACL('/zz', Ids.OPEN_ACL_UNSAFE)), 'NONODE')
  t.equal(d.code(setACL('/ro', Ids.OPEN_ACL_UNSAFE, 99)), 'NOAUTH', 'ADMIN needed, before BADVERSION')
  t.equal(d.code(setACL('/v', Ids.OPEN_ACL_UNSAFE, 1)), 'BADVERSION', 'checked against aversion')
  t.equal(d.code(setACL('/v', Ids.OPEN_ACL_UNSAFE, 0)), 'OK')
  t.equal(d.code(setACL('/zookeeper/config', Ids.OPEN_ACL_UNSAFE, -1), { authIds: [superId] }), 'OK')
  t.equal(d.tree.exists('/zookeeper/config', [])!.aversion, 0, 'config aversion −1 → 0')

  d.ok(create('/hidden', { acl: only(Perms.WRITE, { scheme: 'world', id: 'anyone' }) }))
  t.equal(d.code(check('/zz', -1)), 'NONODE')
  t.equal(d.code(check('/hidden', 7)), 'NOAUTH', 'check needs READ, before BADVERSION')
  t.equal(d.code(check('/v', 7)), 'BADVERSION')
  t.equal(d.code(check('/v', 1)), 'OK')
  t.equal(d.code(check('/v', -1)), 'OK')
  d.tree.checkInvariants()
})

t.test('reads check ACLs and copy data', async (t) => {
  const d = new Driver()
  d.ok(create('/s', { data: 'hello', acl: [{ perms: Perms.READ | Perms.WRITE, id: bob }, { perms: Perms.ADMIN, id: { scheme: 'ip', id: '10.0.0.0/8' } }] }))
  const ip: Id = { scheme: 'ip', id: '10.1.1.1' }
  for (const [name, read] of [['getData', () => d.tree.getData('/s', [])], ['exists', () => d.tree.exists('/s', [])], ['getChildren', () => d.tree.getChildren('/s', [])],
    ['getACL', () => d.tree.getACL('/s', [])], ['getAllChildrenNumber', () => d.tree.getAllChildrenNumber('/s', [])]] as const) {
    t.throws(read, { code: 'NOAUTH' }, name)
  }
  t.throws(() => d.tree.getData('/none', []), { code: 'NONODE' })
  t.throws(() => d.tree.getData('bad', []), { code: 'BADARGUMENTS' })
  t.equal(d.tree.exists('/none', []), null, 'missing node: null, no ACL check')
  const got = d.tree.getData('/s', [bob])
  got.data.fill(0)
  t.same(d.tree.getData('/s', [bob]).data, Buffer.from('hello'), 'getData returns a copy')
  t.same(d.tree.getACL('/s', [bob]).acl[0]!.id, { scheme: 'digest', id: 'bob:x' }, 'READ without ADMIN masks')
  t.same(d.tree.getACL('/s', [ip]).acl[0]!.id, bob, 'ADMIN (via ip range) sees the digest')
  for (const n of ['b', 'a', 'c', 'B']) d.ok(create(`/s/${n}`), { authIds: [superId] })
  d.ok(create('/s/a/deep'), { authIds: [superId] })
  t.same(d.tree.getChildren('/s', [bob]), ['B', 'a', 'b', 'c'])
  t.same(d.tree.getChildrenAndStat('/s', [bob]).stat.numChildren, 4)
  t.equal(d.tree.getAllChildrenNumber('/s', [bob]), 5, 'all descendants')
  t.equal(d.tree.getAllChildrenNumber('/', []), d.tree.nodeCount - 1)
})

t.test('ephemerals, closeSession and getEphemerals', async (t) => {
  const d = new Driver()
  d.ok(create('/a'))
  d.ok(create('/a/e1', { mode: CreateMode.EPHEMERAL }), { sessionId: 7n })
  d.ok(create('/a/e2-', { mode: CreateMode.EPHEMERAL_SEQUENTIAL }), { sessionId: 7n })
  d.ok(create('/b', { mode: CreateMode.EPHEMERAL }), { sessionId: 7n })
  d.ok(create('/mine', { mode: CreateMode.EPHEMERAL }), { sessionId: 8n })
  d.ok(create('/c', { mode: CreateMode.CONTAINER }), { sessionId: 7n })
  d.ok(create('/t', { mode: CreateMode.PERSISTENT_WITH_TTL, ttlMs: 10 }), { sessionId: 7n })
  t.equal(d.tree.exists('/a/e1', [])!.ephemeralOwner, 7n)
  t.equal(d.tree.exists('/c', [])!.ephemeralOwner, 0n, 'containers report 0')
  t.equal(d.tree.exists('/t', [])!.ephemeralOwner, 0n, 'TTL nodes report 0')
  t.same(d.tree.getEphemerals(7n), ['/a/e1', '/a/e2-0000000001', '/b'])
  t.same(d.tree.getEphemerals(7n, '/a/'), ['/a/e1', '/a/e2-0000000001'])
  t.same(d.tree.getEphemerals(9n), [])
  const r = d.apply({ kind: 'closeSession', sessionId: 7n }, { sessionId: 0n })
  t.ok(r.ok)
  t.same(r.ok && r.changes.map((c) => `${c.type} ${c.path}`), [
    'NodeDeleted /a/e1', 'NodeChildrenChanged /a', 'NodeDeleted /a/e2-0000000001', 'NodeChildrenChanged /a', 'NodeDeleted /b', 'NodeChildrenChanged /',
  ])
  t.equal(d.tree.exists('/a/e1', []), null)
  t.match(stat(d, '/a'), { pzxid: d.zxid, cversion: 4, numChildren: 0 })
  t.same(d.tree.getEphemerals(7n), [])
  t.same(d.tree.ephemeralOwners(), [8n])
  t.ok(d.tree.exists('/c', []) !== null && d.tree.exists('/t', []) !== null, 'containers and TTL nodes survive')
  t.same(d.apply({ kind: 'closeSession', sessionId: 7n }), { ok: true, results: [], changes: [] }, 'closing again is a no-op')
  d.tree.checkInvariants()
})

t.test('containers and TTL nodes: due logic and reap', async (t) => {
  const d = new Driver()
  const mk = (p: string, ttlMs: number): WriteOp => create(p, { mode: CreateMode.PERSISTENT_WITH_TTL, ttlMs })
  d.ok(create('/c', { mode: CreateMode.CONTAINER }), { timeMs: 1000 })
  d.ok(create('/unused', { mode: CreateMode.CONTAINER }), { timeMs: 1000 })
  d.ok(mk('/t', 100), { timeMs: 1000 })
  t.same(d.tree.dueForReaping(1100), [], 'ttl not exceeded at exactly ttl')
  t.same(d.tree.dueForReaping(1101), ['/t'])
  d.ok(create('/t/kid'), { timeMs: 1050 })
  t.same(d.tree.dueForReaping(5000), [], 'a TTL node with children is kept')
  d.ok(del('/t/kid'), { timeMs: 1060 })
  t.same(d.tree.dueForReaping(1101), ['/t'], 'children do not reset the TTL clock')
  d.ok(setData('/t', 'x'), { timeMs: 2000 })
  t.same(d.tree.dueForReaping(2100), [], 'setData resets it')
  d.ok(create('/c/kid'))
  t.same(d.tree.dueForReaping(0), [], 'a container with a child is kept; one never used is kept')
  d.ok(del('/c/kid'))
  t.same(d.tree.dueForReaping(0), ['/c'])
  t.same(d.tree.dueForReaping(5000), ['/c', '/t'])

  const r = d.apply({ kind: 'reap', path: '/c' }, { sessionId: 0n })
  t.same(r.ok && r.changes.map((c) => `${c.type} ${c.path}`), ['NodeDeleted /c', 'NodeChildrenChanged /'])
  t.same(r.ok && r.results, [{ type: 'delete' }])
  const reap = (p: string): string => { const x = d.apply({ kind: 'reap', path: p }, { sessionId: 0n }); return x.ok ? 'OK' : x.error.code }
  t.equal(reap('/c'), 'NONODE')
  d.ok(create('/t/kid'))
  t.equal(reap('/t'), 'NOTEMPTY')
  d.ok(create('/e', { mode: CreateMode.EPHEMERAL }))
  t.equal(reap('/e'), 'BADVERSION', 'plain ephemeral')
  d.ok(create('/p'))
  t.equal(reap('/p'), 'BADVERSION', 'persistent nodes are never reaped (stricter than ZooKeeper)')
  d.ok(create('/locked', { mode: CreateMode.CONTAINER, acl: Ids.READ_ACL_UNSAFE }))
  t.equal(reap('/locked'), 'OK', 'no ACL check')
  t.same(d.tree.dueForReaping(1e15), [])
  d.tree.checkInvariants()
})

t.test('multi: atomic, ordered, one zxid, ZooKeeper results', async (t) => {
  const d = new Driver()
  d.ok(create('/m'))
  const ok = d.apply({ kind: 'multi', ops: [create('/m/a'), create('/m/a/b'), setData('/m/a', 'x'), check('/m/a', 1), del('/m/a/b'), create('/m/a/b', { data: 'again' })] })
  t.ok(ok.ok)
  if (ok.ok) {
    t.same(ok.results.map((r) => r.type), ['create', 'create', 'setData', 'check', 'delete', 'create'])
    t.same(ok.changes.map((c) => `${c.type} ${c.path}`), [
      'NodeCreated /m/a', 'NodeChildrenChanged /m', 'NodeCreated /m/a/b', 'NodeChildrenChanged /m/a', 'NodeDataChanged /m/a',
      'NodeDeleted /m/a/b', 'NodeChildrenChanged /m/a', 'NodeCreated /m/a/b', 'NodeChildrenChanged /m/a',
    ])
  }
  t.match(stat(d, '/m/a'), { czxid: 2, mzxid: 2, pzxid: 2, version: 1, cversion: 3, numChildren: 1, ctime: T0 + 2, mtime: T0 + 2 })
  t.match(stat(d, '/m'), { pzxid: 2, cversion: 1 })

  const before = d.tree.snapshot()
  const bad = d.apply({ kind: 'multi', ops: [create('/m/z'), setACL('/m', Ids.READ_ACL_UNSAFE), del('/m/a/b'), del('/m/a'), setData('/m/a', 'y'), check('/m', 0)] })
  t.notOk(bad.ok)
  if (!bad.ok) {
    t.equal(bad.error.code, 'NOAUTH', 'the delete of /m/a sees the tentative READ-only ACL of /m')
    t.same(bad.results!.map((r) => r.type === 'error' && r.rc), [0, 0, 0, -102, -2, -2])
    t.same(bad.error.results, bad.results)
  }
  t.same(Buffer.from(d.tree.snapshot()), Buffer.from(before), 'a failed multi changes nothing')
  t.same(d.tree.getACL('/m', []).acl, Ids.OPEN_ACL_UNSAFE)
  t.same(d.apply({ kind: 'multi', ops: [] }), { ok: true, results: [], changes: [] })
  t.equal(d.code(create('/m/z')), 'OK', 'state usable after rollback')
  d.tree.checkInvariants()
})

t.test('changes carry the gating ACL; setACL and check fire none', async (t) => {
  const d = new Driver()
  const parentAcl = only(Perms.ALL, bob)
  d.ok(create('/g', { acl: parentAcl }), { authIds: [bob] })
  const r = d.op(create('/g/k', { acl: Ids.READ_ACL_UNSAFE }), { authIds: [bob] })
  t.same(r.ok && r.changes, [{ type: 'NodeCreated', path: '/g/k', acl: Ids.READ_ACL_UNSAFE }, { type: 'NodeChildrenChanged', path: '/g', acl: parentAcl }])
  const s = d.op(setACL('/g', Ids.OPEN_ACL_UNSAFE), { authIds: [bob] })
  t.same(s.ok && s.changes, [])
  t.same(s.ok && s.results[0]!.type === 'setACL' && s.results[0]!.stat.aversion, 1)
  const c = d.op(check('/g', 0))
  t.same(c.ok && c.changes, [])
  const x = d.op(setData('/g', 'v'))
  t.same(x.ok && x.changes, [{ type: 'NodeDataChanged', path: '/g', acl: Ids.OPEN_ACL_UNSAFE }])
})
