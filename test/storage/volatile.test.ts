/**
 * Goal: VolatileStorage (the default of an in-memory peer) keeps the Storage contract that
 * applies to memory: what was written is recovered by reopening the same instance, a
 * conflicting suffix is replaced, snapshots drop what they cover, ranges read back.
 * Method: drive it through the Storage interface only.
 */
import t from 'tap'
import type { Entry } from '../../lib/consensus/types.js'
import { VolatileStorage } from '../../storage/volatile.js'
import { snapshotBytes } from '../helpers/snapshot-bytes.js'

const run = (from: number, to: number, term: number): Entry[] =>
  Array.from({ length: to - from + 1 }, (_, i) => ({ index: from + i, term, data: Buffer.from(`e${from + i}t${term}`) }))
const indexes = (es: readonly Entry[]): string[] => es.map((e) => `${e.index}@${e.term}`)

t.test('round trip across close and reopen', async (t) => {
  const s = new VolatileStorage()
  t.same(await s.open(), { hardState: { term: 0, vote: null, commit: 0 }, snapshot: undefined, snapshotData: undefined, entries: [], truncatedEntries: 0 })
  await s.write({ hardState: { term: 2, vote: 'a', commit: 3 }, entries: run(1, 5, 2) })
  await s.close()
  const r = await s.open()
  t.same(r.hardState, { term: 2, vote: 'a', commit: 3 })
  t.same(indexes(r.entries), ['1@2', '2@2', '3@2', '4@2', '5@2'])
})

t.test('a write replaces the conflicting suffix', async (t) => {
  const s = new VolatileStorage()
  await s.write({ entries: run(1, 5, 1) })
  await s.write({ entries: run(3, 4, 2) })
  t.same(indexes((await s.open()).entries), ['1@1', '2@1', '3@2', '4@2'])
  await t.rejects(s.write({ entries: run(9, 9, 2) }), /no gaps/)
})

t.test('compaction keeps a tail; a leader snapshot replaces or trims the log', async (t) => {
  const s = new VolatileStorage()
  await s.write({ entries: run(1, 10, 1) })
  await s.compact({ meta: { index: 8, term: 1, voters: ['a'] }, data: Buffer.from('snap') }, 3)
  const r = await s.open()
  t.equal(r.snapshot?.index, 8)
  t.equal((await snapshotBytes(r.snapshotData))?.toString(), 'snap')
  t.same(indexes(r.entries), ['9@1', '10@1'], 'open returns entries after the snapshot')
  t.same(indexes(await s.entries(6, 9)), ['6@1', '7@1', '8@1'], 'the kept tail is readable')
  t.same(indexes(await s.entries(1, 5)), [], 'compacted entries are gone')
  await s.write({ snapshot: { meta: { index: 9, term: 1, voters: ['a'] }, data: Buffer.from('s2') } })
  t.same(indexes((await s.open()).entries), ['10@1'], 'a snapshot matching the log keeps what follows it')
  await s.write({ snapshot: { meta: { index: 20, term: 3, voters: ['a'] }, data: Buffer.from('s3') } })
  t.same(indexes((await s.open()).entries), [], 'one past the log replaces it')
  await s.write({ entries: run(21, 22, 3) })
  t.same(indexes((await s.open()).entries), ['21@3', '22@3'])
  await t.rejects(s.write({ entries: run(15, 15, 3) }), /below the snapshot/)
})
