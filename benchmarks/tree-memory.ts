/**
 * How many bytes of JS heap and array buffers does a znode cost beyond its name and data?
 *
 * Method: create N znodes with DATA_BYTES of data each under a few parents in a fresh DataTree,
 * force a full GC before and after (`node --expose-gc`), and divide the heap growth, minus the
 * raw bytes of the paths and data, by N. The target is ≤ 300 bytes.
 *
 *   npx tsc -p tsconfig.tree.json && node --expose-gc dist/benchmarks/tree-memory.js [N]
 */

import { DataTree } from '../lib/tree/data-tree.js'
import { CreateMode, Ids, type WriteOp } from '../lib/tree/types.js'

const N = Number(process.argv[2] ?? 100_000)
const DATA_BYTES = 100
const PARENTS = 4

const gc = (globalThis as { gc?: () => void }).gc
if (gc === undefined) {
  console.error('run with node --expose-gc')
  process.exit(1)
}

/** JS heap plus array buffers (the tree keeps data bytes and its columns outside the heap). */
function heapAfterGc (): number {
  gc!()
  gc!()
  const m = process.memoryUsage()
  return m.heapUsed + m.arrayBuffers
}

const tree = new DataTree()
let zxid = 0
const ctx = (): { zxid: number, timeMs: number, sessionId: bigint, authIds: [] } => ({ zxid: ++zxid, timeMs: 1_700_000_000_000 + zxid, sessionId: 1n, authIds: [] })
for (let p = 0; p < PARENTS; p++) {
  tree.apply({ kind: 'op', op: { op: 'create', path: `/parent${p}`, data: new Uint8Array(0), acl: Ids.OPEN_ACL_UNSAFE, mode: CreateMode.PERSISTENT } }, ctx())
}
// Build the ops first so that their buffers are garbage by the second measurement.
const before = heapAfterGc()
let rawBytes = 0
for (let i = 0; i < N; i++) {
  const path = `/parent${i % PARENTS}/node-${String(i).padStart(10, '0')}`
  const data = Buffer.alloc(DATA_BYTES, i & 0xff)
  const op: WriteOp = { op: 'create', path, data, acl: Ids.OPEN_ACL_UNSAFE, mode: CreateMode.PERSISTENT }
  const r = tree.apply({ kind: 'op', op }, ctx())
  if (!r.ok) throw r.error
  rawBytes += path.length + DATA_BYTES
}
const after = heapAfterGc()
const perNode = (after - before) / N
const beyond = (after - before - rawBytes) / N
console.log(`znodes: ${N} (${DATA_BYTES}-byte data, under ${PARENTS} parents), tree.nodeCount ${tree.nodeCount}`)
console.log(`heap + array buffers growth: ${((after - before) / 1e6).toFixed(1)} MB = ${perNode.toFixed(0)} B/znode`)
console.log(`beyond name and data: ${beyond.toFixed(0)} B/znode (target ≤ 300)`)
