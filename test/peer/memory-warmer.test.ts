/**
 * Goal: memory handed out by the MemoryWarmer decodes and encodes a snapshot exactly as plain
 * memory does — the worker touching pages while they are filled never changes a byte. Method:
 * trees whose buffers are large enough to be warmed (over 1 MiB each), decoded in pieces and
 * encoded with and without the warmer, compared node by node and byte by byte.
 */
import t from 'tap'
import { silentLogger } from '../../lib/env.js'
import { MemoryWarmer } from '../../lib/memory-warmer.js'
import { DataTree } from '../../lib/tree/data-tree.js'
import { CreateMode, Ids } from '../../lib/tree/types.js'

const plain = (stat: object): string => JSON.stringify(stat, (_, v: unknown) => typeof v === 'bigint' ? String(v) : v)

t.test('a snapshot decoded into warmed memory is the same tree', async (t) => {
  const tree = new DataTree()
  const data = Buffer.alloc(100)
  let created = 0
  for (let i = 0; i < 40_000; i++) {
    data.writeUInt32BE(i, 0)
    const r = tree.apply({ kind: 'op', op: { op: 'create', path: `/n${i}`, data, acl: Ids.OPEN_ACL_UNSAFE, mode: CreateMode.PERSISTENT } },
      { zxid: i + 1, timeMs: 1_700_000_000_000 + i, sessionId: 1n, authIds: [] })
    if (r.ok) created++
  }
  t.equal(created, 40_000)
  const bytes = tree.snapshot()
  const warmer = MemoryWarmer.start(silentLogger)
  t.ok(warmer, 'a worker thread starts here')
  const decoder = DataTree.snapshotDecoder(warmer!.allocate)
  for (let at = 0; at < bytes.length; at += 65536) decoder.write(bytes.subarray(at, at + 65536))
  const copy = decoder.finish()
  await warmer!.stop()
  copy.checkInvariants()
  t.equal(copy.nodeCount, tree.nodeCount)
  let same = 0
  for (let i = 0; i < 40_000; i += 7) {
    const a = tree.getData(`/n${i}`, [])
    const b = copy.getData(`/n${i}`, [])
    if (a.data.equals(b.data) && plain(a.stat) === plain(b.stat)) same++
  }
  t.equal(same, Math.ceil(40_000 / 7), 'every sampled node reads the same')
  t.same(Buffer.from(copy.snapshot()), Buffer.from(bytes), 'and encodes to the same bytes')
})

t.test('a snapshot encoded into warmed memory is the same bytes', async (t) => {
  const tree = new DataTree()
  for (let i = 0; i < 40_000; i++) {
    tree.apply({ kind: 'op', op: { op: 'create', path: `/w${i}`, data: Buffer.alloc(100, i), acl: Ids.OPEN_ACL_UNSAFE, mode: CreateMode.PERSISTENT } },
      { zxid: i + 1, timeMs: 1_700_000_000_000 + i, sessionId: 1n, authIds: [] })
  }
  const warmer = MemoryWarmer.start(silentLogger)
  t.ok(warmer, 'a worker thread starts here')
  const steps = tree.snapshotSteps(5_000, Uint8Array.of(7, 7), warmer!.allocate)
  let r = steps.next()
  while (r.done !== true) r = steps.next()
  await warmer!.stop()
  t.ok(r.value.buffer instanceof SharedArrayBuffer, 'the output is in the memory handed out')
  t.same(Buffer.from(r.value), Buffer.from(tree.snapshot(Uint8Array.of(7, 7))))
})
