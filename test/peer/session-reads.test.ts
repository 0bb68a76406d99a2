/**
 * Goal: a plain read (getData, exists, getChildren without a watch) keeps every check of
 * API.md and ZK-SEMANTICS while taking the session's shortest path: malformed paths of any type
 * reject with BADARGUMENTS (never throw), missing nodes give NONODE or null, ACLs are checked
 * whatever entry grants or denies READ, the data returned is the caller's own copy, reads wait
 * for the session's in-flight writes, and an ended session refuses reads.
 * Method: a real one-member Peer driven through `peer.connect()` sessions only.
 */
import t, { type Test } from 'tap'
import { Ids, Peer, Perms, ZkError, type Session } from '../../lib/index.js'

async function onePeer (t: Test): Promise<{ peer: Peer, zk: Session }> {
  const peer = await Peer.start({ id: 'solo', listen: `memory://session-reads-${Math.random()}`, tickMs: 10 })
  t.teardown(() => peer.stop())
  await peer.ready()
  return { peer, zk: await peer.connect() }
}

/** Checks that `call` returns a promise (it must not throw) that rejects with `code`. */
async function rejectsWith (t: Test, call: () => Promise<unknown>, code: string, msg: string): Promise<void> {
  let p: Promise<unknown>
  try {
    p = call()
  } catch (err) {
    t.fail(`${msg}: threw ${String(err)} instead of rejecting`)
    return
  }
  try {
    await p
    t.fail(`${msg}: resolved, expected ${code}`)
  } catch (err) {
    t.ok(err instanceof ZkError, `${msg}: a ZkError`)
    t.equal((err as ZkError).code, code, msg)
  }
}

const readers: Array<[string, (zk: Session, path: string) => Promise<unknown>]> = [
  ['getData', (zk, path) => zk.getData(path)],
  ['exists', (zk, path) => zk.exists(path)],
  ['getChildren', (zk, path) => zk.getChildren(path)],
]

t.test('malformed paths of any type reject with BADARGUMENTS', async (t) => {
  const { zk } = await onePeer(t)
  const bad: unknown[] = ['a', '/a/', '/a//b', '/./x', '/x/..', '', '/nul\u0000x', '/emoji\u{1F600}', 42, undefined, null, {}, ['/']]
  for (const [name, read] of readers) {
    for (const path of bad) await rejectsWith(t, () => read(zk, path as string), 'BADARGUMENTS', `${name} ${JSON.stringify(path) ?? String(path)}`)
  }
})

t.test('missing nodes: NONODE for getData and getChildren, null for exists', async (t) => {
  const { zk } = await onePeer(t)
  await rejectsWith(t, () => zk.getData('/missing'), 'NONODE', 'getData')
  await rejectsWith(t, () => zk.getChildren('/missing'), 'NONODE', 'getChildren')
  t.equal(await zk.exists('/missing'), null)
})

t.test('the data returned is a fresh copy each time', async (t) => {
  const { zk } = await onePeer(t)
  await zk.create('/d', 'abc')
  const first = await zk.getData('/d')
  first.data[0] = 0x7a
  const second = await zk.getData('/d')
  t.equal(second.data.toString(), 'abc', 'changing one result leaves the node alone')
  t.equal(first.data.toString(), 'zbc', 'while the caller keeps its change')
  t.not(first.stat, second.stat, 'each read gets its own Stat')
})

t.test('READ is checked against every ACL entry, not only the first', async (t) => {
  const { peer, zk } = await onePeer(t)
  const stranger = await peer.connect()
  await zk.addAuth('digest', 'bob:secret')
  const bob = 'bob:fyVmFCwVbTJYrznoSu1koqYEYF0=' // digestId('bob:secret')
  // world:anyone first, but without READ: only bob (the second entry) may read.
  await zk.create('/w', 'x', { acl: [{ perms: Perms.WRITE, id: Ids.ANYONE_ID_UNSAFE }, { perms: Perms.READ, id: { scheme: 'digest', id: bob } }] })
  await rejectsWith(t, () => stranger.getData('/w'), 'NOAUTH', 'getData without READ')
  await rejectsWith(t, () => stranger.exists('/w'), 'NOAUTH', 'exists without READ')
  await rejectsWith(t, () => stranger.getChildren('/w'), 'NOAUTH', 'getChildren without READ')
  t.equal((await zk.getData('/w')).data.toString(), 'x', 'the digest entry grants READ')
  // world:anyone READ second: everyone may read.
  await zk.create('/r', 'y', { acl: [{ perms: Perms.ALL, id: { scheme: 'digest', id: bob } }, { perms: Perms.READ, id: Ids.ANYONE_ID_UNSAFE }] })
  t.equal((await stranger.getData('/r')).data.toString(), 'y')
  t.equal((await stranger.exists('/r'))?.version, 0)
  t.same(await stranger.getChildren('/r'), [])
})

t.test('a read waits for the session\'s in-flight write, also one that fails', async (t) => {
  const { zk } = await onePeer(t)
  await zk.create('/f', '0')
  const write = zk.setData('/f', '1')
  const read = zk.getData('/f')
  const ex = zk.exists('/f')
  const failing = zk.setData('/f', '2', 99).catch((err: ZkError) => err.code)
  const after = zk.getData('/f')
  t.equal((await read).data.toString(), '1')
  t.equal((await ex)?.version, 1)
  t.equal(await failing, 'BADVERSION')
  t.equal((await after).stat.version, 1)
  await write
})

t.test('an ended session refuses reads', async (t) => {
  const { zk } = await onePeer(t)
  await zk.create('/e')
  await zk.close()
  for (const [name, read] of readers) await rejectsWith(t, () => read(zk, '/e'), 'SESSIONEXPIRED', `${name} after close`)
})
