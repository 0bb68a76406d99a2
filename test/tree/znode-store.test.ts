/**
 * Goal: the znode store's own structures keep their contracts — the path index finds exactly
 * the live paths through any mix of inserts and deletes (including colliding runs and reused
 * ids), and the data arena reclaims replaced data without changing any node's bytes, nor those
 * of a data view or frozen view taken before the reclaim.
 * Method: a seeded sequence of random operations checked against a Map after every step; a
 * store whose data is replaced until garbage passes the compaction threshold, read back.
 */
import t from 'tap'
import { PathIndex } from '../../lib/tree/path-index.js'
import { NodeKind, ZNodeStore, type NewZNode } from '../../lib/tree/znode-store.js'
import { Ids } from '../../lib/tree/types.js'

/** A small deterministic PRNG (xorshift32), so a failure replays. */
function prng (seed: number): () => number {
  let x = seed
  return () => {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5
    return (x >>> 0) / 2 ** 32
  }
}

t.test('the path index agrees with a Map through random inserts and deletes', async (t) => {
  const rand = prng(12345)
  const index = new PathIndex()
  const model = new Map<string, number>()
  const free: number[] = []
  let nextId = 0
  let mismatches = 0
  for (let step = 0; step < 20_000; step++) {
    const key = `/k/${Math.floor(rand() * 3000)}`
    const id = model.get(key)
    if (id === undefined) {
      const fresh = free.length > 0 ? free.pop()! : nextId++
      index.set(key, fresh)
      model.set(key, fresh)
    } else if (rand() < 0.7) {
      index.delete(id)
      model.delete(key)
      free.push(id)
    }
    if (step % 1000 === 999) {
      for (let k = 0; k < 3000; k++) if (index.get(`/k/${k}`) !== model.get(`/k/${k}`)) mismatches++
      if (index.size !== model.size) mismatches++
    }
  }
  t.equal(mismatches, 0, 'every lookup and the size match the model')
  const ids = [...index.ids()].sort((a, b) => a - b)
  t.same(ids, [...model.values()].sort((a, b) => a - b), 'ids() lists exactly the live ids')
  for (const [path, id] of model) t.equal(index.path(id), path)
})

t.test('replaced data is reclaimed without changing any bytes, and earlier views and frozen views still read theirs', async (t) => {
  const store = new ZNodeStore()
  const fields = (data: Uint8Array): NewZNode => ({
    data, acl: Ids.OPEN_ACL_UNSAFE, czxid: 1, mzxid: 1, pzxid: 1, ctime: 0, mtime: 0,
    version: 0, aversion: 0, creates: 0, kind: NodeKind.PERSISTENT, ttlMs: 0, owner: 0n,
  })
  const value = (node: number, round: number): Buffer => Buffer.alloc(64 * 1024 + node, (node * 31 + round) & 0xff)
  const NODES = 20
  const ids: number[] = []
  for (let n = 0; n < NODES; n++) ids.push(store.add(`/n${n}`, fields(value(n, 0))))
  const early = store.dataView(ids[3]!)
  const frozen = store.freeze()
  let reclaims = 0
  let wrong = 0
  for (let round = 1; round <= 20; round++) {
    const before = store.dataGarbageBytes
    for (let n = 0; n < NODES; n++) store.setData(ids[n]!, value(n, round))
    if (store.dataGarbageBytes < before) reclaims++
    for (let n = 0; n < NODES; n++) if (!store.dataView(ids[n]!).equals(value(n, round))) wrong++
  }
  // Remove half: their bytes become garbage too, and the rest must survive the next reclaim.
  for (let n = 0; n < NODES; n += 2) store.remove(ids[n]!)
  for (let n = 1; n < NODES; n += 2) if (!store.dataView(ids[n]!).equals(value(n, 20))) wrong++
  t.ok(reclaims >= 1, `garbage was reclaimed (${reclaims} times)`)
  t.equal(wrong, 0, 'every node reads its latest data')
  t.ok(early.equals(value(3, 0)), 'a view taken before still reads the old bytes')
  const old = Buffer.alloc(value(5, 0).length)
  frozen.copyData(ids[5]!, old, 0)
  t.ok(old.equals(value(5, 0)), 'a frozen view still reads its bytes')
  frozen.release()
  const target = Buffer.alloc(value(7, 20).length + 2)
  store.copyData(ids[7]!, target, 2)
  t.ok(target.subarray(2).equals(value(7, 20)), 'copyData copies the bytes at the offset')
})
