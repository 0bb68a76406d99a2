/**
 * Goal: the simulator catches classic Raft bugs. Method: plant each bug (bugs.ts) alone into the
 * core and run seeds until the simulator reports a violation; each must be caught within a
 * bounded number of seeds. The bound is generous; the seed that catches each bug is printed.
 */
import t from 'tap'
import { plantedBugs } from './bugs.js'
import { peersForSeed } from './peers.js'
import { runSim } from './run.js'

const MAX_SEEDS = 150
const caught = [
  'vote twice in a term',
  'commit without a quorum',
  'accept an append without checking the previous entry',
]

for (const name of caught) {
  t.test(`catches: ${name}`, async (t) => {
    const makeCore = plantedBugs[name]
    t.ok(makeCore, 'bug exists')
    for (let seed = 1; seed <= MAX_SEEDS; seed++) {
      const r = runSim({ seed, peers: peersForSeed(seed, undefined), makeCore })
      if (r.violation !== undefined) {
        t.pass(`caught at seed ${seed}: ${r.violation.split('\n')[0]}`)
        return
      }
    }
    t.fail(`not caught within ${MAX_SEEDS} seeds`)
  })
}
