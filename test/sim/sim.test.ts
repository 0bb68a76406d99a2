/**
 * Goal: the consensus core keeps every safety invariant and recovers liveness under the
 * simulator's faults, for 3 and 5 peers. Method: a bounded number of seeds of the deterministic
 * simulator (run.ts); a failure names its seed for `npm run sim -- --seed N --trace`. Also checks
 * that a run replays exactly from its seed.
 */
import t from 'tap'
import { runSim } from './run.js'
import { peersForSeed } from './peers.js'

const SEEDS = 120

t.test(`${SEEDS} seeds without a violation`, async (t) => {
  for (let seed = 1; seed <= SEEDS; seed++) {
    const r = runSim({ seed, peers: peersForSeed(seed, undefined) })
    if (r.violation !== undefined) t.fail(`seed ${seed}: ${r.violation} (replay: npm run sim -- --seed ${seed} --trace)`)
  }
  t.pass('all seeds clean')
})

t.test('a seed replays exactly', async (t) => {
  const trace = (): { lines: string[], result: object } => {
    const lines: string[] = []
    const result = runSim({ seed: 7, peers: 5, trace: (l) => lines.push(l) })
    return { lines, result }
  }
  const a = trace()
  const b = trace()
  t.same(a.result, b.result)
  t.equal(a.lines.length, b.lines.length)
  t.ok(a.lines.join('\n') === b.lines.join('\n'), 'identical traces')
})
