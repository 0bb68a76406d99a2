/**
 * Goal: when the leader crashes and the survivors' transports report its connections lost, a
 * new leader is elected before any election timeout could have fired, in a single election (no
 * split vote), under a write load; without the reports, fail-over waits for the timeout as
 * before. Method: three simulated nodes (node.ts) on the simulated clock and network, from
 * fixed seeds; the leader is crashed at a random moment and the simulated time until a live
 * node leads is compared with the shortest possible election timeout. Simulated time only: a
 * pure function of the seed, never the wall clock.
 */
import t from 'tap'
import type { Message } from '../../lib/consensus/messages.js'
import { seededRandom } from '../../lib/env.js'
import { SimClock } from './clock.js'
import { SimNetwork } from './network.js'
import { SimNode } from './node.js'
import { correctCore } from './sim-core.js'

const TICK_MS = 10
const ELECTION_TICKS = 10

/** What one leader crash led to. */
interface Outcome {
  /** Simulated ms from the crash until a surviving node led. */
  readonly failoverMs: number
  /** Terms the survivors went through: 1 means one election, no split vote. */
  readonly termsUsed: number
}

function crashLeader (seed: number, report: boolean): Outcome {
  const rnd = seededRandom(seed)
  const clock = new SimClock()
  const ids = ['n1', 'n2', 'n3']
  const nodes = new Map<string, SimNode>()
  const network = new SimNetwork<Message>(clock, rnd, (to, _from, m) => nodes.get(to)?.receive(m))
  for (const id of ids) {
    const node = new SimNode(id, clock, {
      core: { voters: ids, electionTicks: ELECTION_TICKS, heartbeatTicks: 1, random: (a, b) => rnd.intInclusive(a, b) },
      snapshotEvery: 1_000_000,
    }, correctCore, { send: (m) => network.send(m.from, m.to, m), onApply: () => {}, onSnapshotInstalled: () => {}, onReadState: () => {} }, () => rnd.intInclusive(0, 2))
    nodes.set(id, node)
    clock.after(rnd.intInclusive(0, TICK_MS - 1), () => { clock.every(TICK_MS, () => node.tick()) })
  }
  let n = 0
  clock.every(3, () => { nodes.get(ids[rnd.intInclusive(0, 2)] as string)?.propose(`w${++n}`) })
  const leader = (among: readonly SimNode[]): SimNode | undefined => among.find((x) => x.core?.roleNow === 'leader')
  const warmUpMs = 1000 + rnd.intInclusive(0, 200)
  while (clock.step(warmUpMs));
  const old = leader([...nodes.values()])
  if (old === undefined) throw new Error(`seed ${seed}: no leader before the crash`)
  const term = old.core?.termNow ?? 0
  const survivors = [...nodes.values()].filter((x) => x !== old)
  const crashedAt = clock.nowMs()
  old.crash()
  if (report) for (const s of survivors) clock.after(rnd.intInclusive(0, 5), () => s.peerDisconnected(old.id))
  while (leader(survivors) === undefined) {
    clock.step(crashedAt + 60_000)
    if (clock.nowMs() >= crashedAt + 60_000) throw new Error(`seed ${seed}: no new leader`)
  }
  return { failoverMs: clock.nowMs() - crashedAt, termsUsed: (leader(survivors)?.core?.termNow ?? 0) - term }
}

const SEEDS = 40

t.test('with lost-connection reports: a new leader before any election timeout, in one election', async (t) => {
  const earliestTimeoutMs = ELECTION_TICKS * TICK_MS
  for (let seed = 1; seed <= SEEDS; seed++) {
    const o = crashLeader(seed, true)
    if (o.failoverMs >= earliestTimeoutMs) t.fail(`seed ${seed}: new leader after ${o.failoverMs} simulated ms`)
    if (o.termsUsed !== 1) t.fail(`seed ${seed}: ${o.termsUsed} terms used`)
  }
  t.pass(`${SEEDS} seeds`)
})

t.test('without the reports, fail-over still waits for an election timeout', async (t) => {
  for (let seed = 1; seed <= 10; seed++) {
    const o = crashLeader(seed, false)
    t.ok(o.failoverMs >= ELECTION_TICKS * TICK_MS - TICK_MS, `seed ${seed}: ${o.failoverMs} simulated ms`)
  }
})
