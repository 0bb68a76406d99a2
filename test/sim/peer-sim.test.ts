/**
 * Goal: complete peers (consensus, tree, sessions, watches) keep their guarantees to clients
 * under crashes, partitions and message faults, and the history checkers would notice if not.
 * Method: a bounded number of seeds of the whole-peer simulator (peer-run.ts); a failure names
 * its seed for `npm run sim -- --mode peer --seed N --trace`. Also: a seed replays exactly, the
 * linearizability checker accepts and refutes small hand-made histories, and each planted
 * session bug (peer-bugs.ts) is caught within a bounded number of seeds.
 */
import t from 'tap'
import { checkLinearizable, type OpRecord } from './history.js'
import { plantedSessionBugs } from './peer-bugs.js'
import { runPeerSim } from './peer-run.js'
import { peersForSeed } from './peers.js'

const SEEDS = 30
const BUG_SEEDS = 20

t.test(`${SEEDS} whole-peer seeds without a violation`, async (t) => {
  for (let seed = 1; seed <= SEEDS; seed++) {
    const r = await runPeerSim({ seed, peers: peersForSeed(seed, undefined) })
    if (r.violation !== undefined) t.fail(`seed ${seed}: ${r.violation.split('\n').slice(0, 12).join('\n')}\n(replay: npm run sim -- --mode peer --seed ${seed} --trace)`)
    else t.ok(r.ackedWrites > 0, `seed ${seed}: ${r.ops} ops, ${r.ackedWrites} acked writes, ${r.unknownOps} unknown, ${r.crashes} crashes, recovery ${r.recoveryMs}ms`)
  }
})

t.test('a whole-peer seed replays exactly', async (t) => {
  const run = async (): Promise<{ lines: string[], result: object }> => {
    const lines: string[] = []
    const result = await runPeerSim({ seed: 3, peers: 5, faultMs: 1500, trace: (l) => lines.push(l) })
    return { lines, result }
  }
  const a = await run()
  const b = await run()
  t.same(a.result, b.result)
  t.equal(a.lines.length, b.lines.length)
  t.ok(a.lines.join('\n') === b.lines.join('\n'), 'identical traces')
})

t.test('the linearizability checker', async (t) => {
  let id = 0
  const op = (o: Omit<OpRecord, 'id' | 'client' | 'session' | 'key' | 'invokeMs'>): OpRecord =>
    ({ id: id++, client: 0, session: 's', key: '/k', invokeMs: 0, ...o })
  const read = (value: string, version: number): OpRecord['result'] => ({ value, version, mzxid: 0, czxid: 0 })
  t.ok(checkLinearizable([
    op({ kind: 'create', value: 'a', invokeSeq: 1, respSeq: 4, outcome: 'ok' }),
    op({ kind: 'set', value: 'b', version: -1, invokeSeq: 2, respSeq: 3, outcome: 'ok', result: read('b', 1) }),
  ]).ok, 'concurrent create and set, set linearized after create')
  t.notOk(checkLinearizable([
    op({ kind: 'create', value: 'a', invokeSeq: 1, respSeq: 2, outcome: 'ok' }),
    op({ kind: 'syncget', invokeSeq: 3, respSeq: 4, outcome: 'NONODE', result: null }),
  ]).ok, 'a synced read misses an acknowledged create')
  t.ok(checkLinearizable([
    op({ kind: 'create', value: 'a', invokeSeq: 1, outcome: 'unknown', respSeq: 2 }),
    op({ kind: 'syncget', invokeSeq: 3, respSeq: 4, outcome: 'NONODE', result: null }),
    op({ kind: 'syncget', invokeSeq: 5, respSeq: 6, outcome: 'ok', result: read('a', 0) }),
  ]).ok, 'an unknown-outcome write may take effect late')
  t.notOk(checkLinearizable([
    op({ kind: 'create', value: 'a', invokeSeq: 1, respSeq: 2, outcome: 'ok' }),
    op({ kind: 'set', value: 'b', version: 0, invokeSeq: 3, respSeq: 4, outcome: 'ok', result: read('b', 1) }),
    op({ kind: 'set', value: 'c', version: 0, invokeSeq: 5, respSeq: 6, outcome: 'ok', result: read('c', 1) }),
  ]).ok, 'two conditional sets on the same version both succeed')
})

for (const [name, wrapSession] of Object.entries(plantedSessionBugs)) {
  t.test(`catches: ${name}`, async (t) => {
    for (let seed = 1; seed <= BUG_SEEDS; seed++) {
      const r = await runPeerSim({ seed, peers: peersForSeed(seed, undefined), wrapSession, faultMs: 2000 })
      // Only the history checkers count: the bug is in what clients are told.
      if (r.violation !== undefined && /^(linearizable|session-monotonic|read-your-writes):/.test(r.violation)) {
        t.pass(`caught at seed ${seed}: ${r.violation.split('\n')[0]}`)
        return
      }
    }
    t.fail(`not caught within ${BUG_SEEDS} seeds`)
  })
}
