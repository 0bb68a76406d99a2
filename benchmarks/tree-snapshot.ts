/**
 * How long does a large tree take to snapshot and restore?
 *
 * Method: build N znodes (100-byte data, 1,000 per parent), then time `snapshot()` and
 * `DataTree.fromSnapshot()` and check the restored tree reads the same. Target: a 1,000,000-znode
 * round trip well under 3 s.
 *
 *   npx tsc -p tsconfig.tree.json && node dist/benchmarks/tree-snapshot.js [N]
 */

import { performance } from 'node:perf_hooks'
import { DataTree } from '../lib/tree/data-tree.js'
import { CreateMode, Ids } from '../lib/tree/types.js'

const N = Number(process.argv[2] ?? 1_000_000)
const PER_PARENT = 1000

const tree = new DataTree()
let zxid = 0
const create = (path: string, data: Uint8Array): void => {
  zxid++
  const r = tree.apply({ kind: 'op', op: { op: 'create', path, data, acl: Ids.OPEN_ACL_UNSAFE, mode: CreateMode.PERSISTENT } },
    { zxid, timeMs: 1_700_000_000_000 + zxid, sessionId: 1n, authIds: [] })
  if (!r.ok) throw r.error
}
const data = Buffer.alloc(100, 7)
for (let i = 0; i < N; i++) {
  if (i % PER_PARENT === 0) create(`/p${i / PER_PARENT}`, new Uint8Array(0))
  create(`/p${Math.floor(i / PER_PARENT)}/n${i}`, data)
}

const c0 = process.cpuUsage()
const t0 = performance.now()
const bytes = tree.snapshot()
const t1 = performance.now()
const copy = DataTree.fromSnapshot(bytes)
const t2 = performance.now()
const cpu = process.cpuUsage(c0)
if (copy.nodeCount !== tree.nodeCount) throw new Error('node counts differ')
const probe = `/p${Math.floor((N - 1) / PER_PARENT)}/n${N - 1}`
const a = tree.getData(probe, [])
const b = copy.getData(probe, [])
if (!a.data.equals(b.data) || Object.entries(a.stat).some(([k, v]) => b.stat[k as keyof typeof b.stat] !== v)) throw new Error('restored tree differs')
// The peer decodes a snapshot as it reads it, in 1 MiB pieces with a turn of the event loop in
// between: the longest piece is the longest the event loop is blocked while restoring.
const PIECE_BYTES = 1 << 20
const decoder = DataTree.snapshotDecoder()
let longestStepMs = 0
const s0 = performance.now()
for (let at = 0; at < bytes.length; at += PIECE_BYTES) {
  const before = performance.now()
  decoder.write(bytes.subarray(at, at + PIECE_BYTES))
  longestStepMs = Math.max(longestStepMs, performance.now() - before)
}
if (decoder.finish().nodeCount !== tree.nodeCount) throw new Error('node counts differ')
const stepped = performance.now() - s0
console.log(`znodes: ${tree.nodeCount}, snapshot ${(bytes.byteLength / 1e6).toFixed(1)} MB`)
console.log(`snapshot(): ${(t1 - t0).toFixed(0)} ms, fromSnapshot(): ${(t2 - t1).toFixed(0)} ms, round trip ${(t2 - t0).toFixed(0)} ms (target < 3000)`)
console.log(`snapshotDecoder() in ${PIECE_BYTES >> 20} MiB pieces: ${stepped.toFixed(0)} ms in all, longest piece ${longestStepMs.toFixed(0)} ms`)
console.log(`process CPU during the round trip (all threads, GC helpers included): ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms`)
