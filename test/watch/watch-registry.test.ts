/**
 * Goal: the watch registry fires exactly the watches ZooKeeper would, once per listener, keeps
 * its counts right as one-shots fire, and forgets an owner's watches, and only those.
 * Method: drive WatchRegistry directly with two owners and hand-made tree changes.
 */
import t from 'tap'
import type { ACL, WatchEvent } from '../../lib/tree/types.js'
import { WatchRegistry, type WatchOwner } from '../../lib/watch/watch-registry.js'

const open: ACL[] = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }]
const closed: ACL[] = [{ perms: 31, id: { scheme: 'digest', id: 'bob:x' } }]

function owner (readable = true): WatchOwner & { got: string[] } {
  const got: string[] = []
  return { got, canRead: (acl) => readable || acl !== closed, deliver: (listener, e) => listener(e) }
}

t.test('which watches fire, once each, and the bookkeeping', async (t) => {
  const reg = new WatchRegistry()
  const a = owner()
  const b = owner()
  const la = (e: WatchEvent): void => { a.got.push(`${e.type} ${e.path}`) }
  const lb = (e: WatchEvent): void => { b.got.push(`${e.type} ${e.path}`) }
  reg.add('data', '/x', a, la)
  reg.add('data', '/x', a, la)
  reg.add('child', '/x', a, la)
  reg.add('persistent', '/x', b, lb)
  reg.add('recursive', '/', b, lb)
  t.equal(reg.size, 5)
  reg.trigger({ type: 'NodeDataChanged', path: '/x', acl: open }, 7)
  t.same(a.got, ['NodeDataChanged /x'], 'one delivery for a listener registered twice')
  t.same(b.got, ['NodeDataChanged /x', ], 'persistent and recursive of one owner and listener: once')
  t.equal(reg.size, 3, 'the two one-shot data watches are used up')
  reg.trigger({ type: 'NodeChildrenChanged', path: '/x', acl: open }, 8)
  t.same(a.got, ['NodeDataChanged /x', 'NodeChildrenChanged /x'])
  t.equal(reg.size, 2)
  reg.trigger({ type: 'NodeCreated', path: '/x/y', acl: open }, 9)
  t.same(b.got.at(-1), 'NodeCreated /x/y', 'recursive sees descendants')
  reg.removeOwner(a)
  t.equal(reg.size, 2, 'a had nothing left')
  reg.add('data', '/z', a, la)
  reg.removeOwner(b)
  t.equal(reg.size, 1, 'only b\'s watches went')
})

t.test('events the owner may not read are dropped, and one-shots are still used up', async (t) => {
  const reg = new WatchRegistry()
  const blind = owner(false)
  const seen: string[] = []
  reg.add('data', '/secret', blind, (e) => seen.push(e.type))
  reg.trigger({ type: 'NodeDataChanged', path: '/secret', acl: closed }, 3)
  t.same(seen, [])
  t.equal(reg.size, 0)
})
