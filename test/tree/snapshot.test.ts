/**
 * Goal: snapshot()/fromSnapshot() round-trip a tree exactly: every node's data, stat and ACL,
 * the ephemeral/container/TTL indexes, and behaviour under later txns. Method: build a varied
 * tree, restore it, walk both and compare; then apply the same txns to both.
 */

import t from 'tap'
import { digestId } from '../../lib/tree/acl.js'
import { DataTree } from '../../lib/tree/data-tree.js'
import { CreateMode, Ids, Perms, type Id } from '../../lib/tree/types.js'
import { Driver, create, del, plainStat, setACL, setData } from './tree-helpers.js'

const su: Id[] = [{ scheme: 'super', id: '' }]

function dump (tree: DataTree): unknown[] {
  const out: unknown[] = []
  const walk = (path: string): void => {
    const { data, stat } = tree.getData(path, su)
    out.push([path, data.toString('hex'), plainStat(stat), tree.getACL(path, su).acl])
    for (const c of tree.getChildren(path, su)) walk(path === '/' ? `/${c}` : `${path}/${c}`)
  }
  walk('/')
  return out
}

t.test('round trip preserves everything', async (t) => {
  const d = new Driver()
  const bob: Id = { scheme: 'digest', id: digestId('bob:pw') }
  d.ok(create('/a', { data: 'x'.repeat(300) }))
  d.ok(create('/a/ü → ✓', { data: '\u0000\u00ff' }))
  d.ok({ op: 'create', path: '/bin', data: Uint8Array.from([0, 128, 255, 10]), acl: [{ perms: Perms.ALL, id: bob }], mode: CreateMode.PERSISTENT }, { authIds: [bob] })
  d.ok(create('/a/e', { mode: CreateMode.EPHEMERAL }), { sessionId: 0x1234_5678_9abc_def0n })
  d.ok(create('/c', { mode: CreateMode.CONTAINER }))
  d.ok(create('/c/x'))
  d.ok(del('/c/x'))
  d.ok(create('/t', { mode: CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL, ttlMs: 2 ** 40 - 1 }))
  d.ok(create('/ip', { acl: [{ perms: 1, id: { scheme: 'ip', id: '10.0.0.0/8' } }, ...Ids.OPEN_ACL_UNSAFE] }))
  d.ok(setData('/a', 'y'))
  d.ok(setACL('/a', Ids.READ_ACL_UNSAFE.map((a) => ({ ...a, perms: Perms.ALL }))))
  d.ok(setData('/zookeeper/config', 'server.1=x'), { authIds: su })
  // A path over 127 bytes and parents hundreds of records back: multi-byte varints.
  d.ok(create(`/${'long-'.repeat(60)}`, { data: 'l' }))
  d.ok(create('/many'))
  for (let i = 0; i < 300; i++) d.ok(create(`/many/m${i}`, { data: String(i) }))
  d.ok(create('/many/m299/deep'))
  const bytes = d.tree.snapshot()
  const copy = DataTree.fromSnapshot(bytes)
  copy.checkInvariants()
  t.same(dump(copy), dump(d.tree))
  t.same(Buffer.from(copy.snapshot()), Buffer.from(bytes), 'snapshot of the copy is byte-identical')
  t.equal(copy.nodeCount, d.tree.nodeCount)
  t.same(copy.getEphemerals(0x1234_5678_9abc_def0n), ['/a/e'])
  t.same(copy.dueForReaping(1e16), d.tree.dueForReaping(1e16))
  t.same(copy.dueForReaping(0), ['/c'])

  const other = new Driver(copy)
  other.zxid = d.zxid
  for (const op of [create('/a/e/no'), create('/c/y'), create('/s-', { mode: CreateMode.PERSISTENT_SEQUENTIAL }), del('/ip'), setData('/bin', 'z')]) {
    const a = d.op(op, { authIds: [bob] })
    const b = other.op(op, { authIds: [bob] })
    t.same(b.ok ? b.results : b.error.code, a.ok ? a.results : a.error.code, `same result for ${op.op} ${op.path}`)
  }
  other.apply({ kind: 'closeSession', sessionId: 0x1234_5678_9abc_def0n })
  d.apply({ kind: 'closeSession', sessionId: 0x1234_5678_9abc_def0n })
  t.same(dump(copy), dump(d.tree))
  t.same(Buffer.from(copy.snapshot()), Buffer.from(d.tree.snapshot()))
})

t.test('corrupt snapshots are refused', async (t) => {
  const bytes = new DataTree().snapshot()
  t.throws(() => DataTree.fromSnapshot(bytes.subarray(0, bytes.length - 1)))
  t.throws(() => DataTree.fromSnapshot(Buffer.concat([bytes, Buffer.from([0])])))
  t.throws(() => DataTree.fromSnapshot(Buffer.from('nope')))
})

t.test('decoding a stream in pieces of any size gives the same tree', async (t) => {
  const d = new Driver()
  for (let i = 0; i < 10; i++) d.ok(create(`/n${i}`, { data: `v${i}`.repeat(i * 40) }))
  d.ok(create('/n3/child'))
  d.ok(create(`/n3/${'long'.repeat(300)}`, { data: 'x' }))
  d.ok(del('/n5'))
  const bytes = d.tree.snapshot()
  for (const piece of [1, 3, 7, 64, 1000, bytes.length]) {
    const decoder = DataTree.snapshotDecoder()
    for (let at = 0; at < bytes.length; at += piece) decoder.write(bytes.subarray(at, at + piece))
    const copy = decoder.finish()
    copy.checkInvariants()
    t.same(dump(copy), dump(d.tree), `pieces of ${piece} bytes`)
    t.same(Buffer.from(copy.snapshot()), Buffer.from(bytes))
  }
  const cut = DataTree.snapshotDecoder()
  cut.write(bytes.subarray(0, bytes.length - 1))
  t.throws(() => cut.finish(), /truncated/, 'a stream cut short is refused at finish')
  // A record larger than the decoder's staging buffer (1 MiB) grows it.
  const huge = new Driver()
  huge.ok(create(`/${'h'.repeat(1_500_000)}`, { data: 'big name' }))
  huge.ok(create('/after', { data: 'y' }))
  const hugeBytes = huge.tree.snapshot()
  const grown = DataTree.snapshotDecoder()
  for (let at = 0; at < hugeBytes.length; at += 65536) grown.write(hugeBytes.subarray(at, at + 65536))
  t.same(dump(grown.finish()), dump(huge.tree), 'a record over 1 MiB')
  const long = DataTree.snapshotDecoder()
  long.write(bytes)
  t.throws(() => { long.write(Uint8Array.of(0)) }, /trailing/, 'bytes after the end are refused')
})

t.test('the header prefix is written before the tree bytes', async (t) => {
  const d = new Driver()
  d.ok(create('/a', { data: 'x' }))
  const plain = Buffer.from(d.tree.snapshot())
  const prefixed = Buffer.from(d.tree.snapshot(Uint8Array.from([1, 2, 3])))
  t.same(prefixed.subarray(0, 3), Buffer.from([1, 2, 3]))
  t.same(prefixed.subarray(3), plain)
})

t.test('an encoding in steps is sized first, then final front to back while the tree moves on', async (t) => {
  const d = new Driver()
  // Parents whose children the encoding lists in later steps than some of their changes (a
  // parent created first comes last among its siblings, so after /a's 200 children).
  d.ok(create('/d'))
  for (let k = 0; k < 30; k++) {
    d.ok(create(`/d/k${k}`))
    for (let l = 0; l < 3; l++) d.ok(create(`/d/k${k}/l${l}`))
  }
  d.ok(create('/a', { data: 'x'.repeat(1000) }))
  d.ok(create('/a/ü → ✓', { data: 'u' }))
  d.ok(create('/e', { mode: CreateMode.EPHEMERAL }), { sessionId: 7n })
  d.ok(create('/t', { mode: CreateMode.PERSISTENT_WITH_TTL, ttlMs: 5000 }))
  for (let i = 0; i < 200; i++) d.ok(create(`/a/n${i}`, { data: `v${i}` }))
  d.ok(setData('/a/n7', 'changed'))
  const expected = Buffer.from(d.tree.snapshot(Uint8Array.of(9, 9)))
  const steps = d.tree.snapshotSteps(16, Uint8Array.of(9, 9))
  let changes = 0
  const mutate = (i: number): void => {
    d.ok(setData(`/a/n${149 - (i % 20)}`, `later ${i}`))
    if (i % 2 === 0 && i < 40) d.ok(del(`/a/n${199 - i}`))
    d.ok(create(`/a/new${i}`, { data: `new ${i}` }))
    d.ok(create(`/a/n${100 + (i % 30)}/c${i}`))
    if (i % 5 === 4) d.ok(del(`/a/new${i - 1}`))
    if (i < 30) {
      d.ok(del(`/d/k${i}/l1`))
      d.ok(create(`/d/k${i}/m`))
      d.ok(setACL(`/d/k${i}/l2`, Ids.READ_ACL_UNSAFE))
    }
  }
  let sized = 0
  let sizedFirst = true
  let written = 0
  const prefixes: Buffer[] = []
  for (;;) {
    const r = steps.next()
    // Changes after the call are not part of this snapshot, made while its columns are copied
    // and after: data, stats, links, removals and ids freed and taken again.
    mutate(changes++)
    if (r.done === true) {
      t.same(Buffer.from(r.value), expected, 'the same bytes as encoded in one go')
      break
    }
    if (r.value === undefined) {
      if (sized > 0) sizedFirst = false
      continue
    }
    sized++
    t.equal(r.value.output.length, expected.length, 'the output has its final length from the start')
    t.ok(r.value.written >= written && r.value.written <= expected.length, 'written only grows, within the output')
    written = r.value.written
    prefixes.push(Buffer.from(r.value.output.subarray(0, written)))
  }
  t.ok(sizedFirst, 'sizing steps all come before writing steps')
  t.ok(sized > 10, `the output was written over several steps (${sized})`)
  for (const p of prefixes) t.same(p, expected.subarray(0, p.length), 'what was said to be written is final')
  t.ok(changes > 20, `the tree changed between all ${changes} steps`)

  // Given up while its columns were being copied: the tree goes on, and so do later snapshots.
  const abandoned = d.tree.snapshotSteps(16)
  abandoned.next()
  abandoned.return(new Uint8Array(0))
  mutate(changes++)
  const now = Buffer.from(d.tree.snapshot())
  const again = d.tree.snapshotSteps(1000)
  for (;;) {
    const r = again.next()
    if (r.done === true) {
      t.same(Buffer.from(r.value), now, 'a later encoding in steps is whole')
      break
    }
  }
  t.same(dump(DataTree.fromSnapshot(now)), dump(d.tree), 'and reads as the tree')
})
