/**
 * Question: how fast is the consensus core alone? (1) Committed entries per second for a
 * 3-core ensemble over an in-memory network with synchronous persistence, 100-byte proposals,
 * proposed in batches. (2) Simulated time from a leader crash to the next commit with the
 * default timeouts (tickMs 50, electionTicks 10), median and p99 over many seeds, on the
 * simulator's clock, network (1–3 ms) and disks (0–2 ms), twice: when the survivors' transports
 * see the leader's connections close (a killed process: the kernel closes its sockets) and when
 * the leader falls silent without a close (a hung host or a cut cable: only the election
 * timeout notices).
 *
 * Run directly (`node dist/benchmarks/consensus-throughput.js`) to print the figures, or call
 * {@link consensusBenchmark}.
 */
import { fileURLToPath } from 'node:url'
import { RaftCore } from '../lib/consensus/core.js'
import type { Message } from '../lib/consensus/messages.js'
import { seededRandom } from '../lib/env.js'
import { SimClock } from '../test/sim/clock.js'
import { SimNetwork } from '../test/sim/network.js'
import { SimNode } from '../test/sim/node.js'
import { correctCore } from '../test/sim/sim-core.js'

/** The benchmark's figures. */
export interface ConsensusBenchmarkResult {
  readonly entriesPerSec: number
  readonly entries: number
  readonly batch: number
  /** Fail-over when the crash closes the leader's connections (reported to the survivors). */
  readonly failover: FailoverFigures
  /** Fail-over when the leader falls silent: nothing is reported, the election timeout decides. */
  readonly silentFailover: FailoverFigures
  readonly failoverSeeds: number
}

/** Median and p99 of simulated crash → next commit times, in simulated ms. */
export interface FailoverFigures {
  readonly medianMs: number
  readonly p99Ms: number
}

/** Commits `total` 100-byte entries through 3 cores; returns entries per wall-clock second. */
function throughput (total: number, batch: number): number {
  const ids = ['a', 'b', 'c']
  const rnd = seededRandom(1)
  const cores = new Map(ids.map((id) => [id, new RaftCore({
    id, voters: ids, random: (lo, hi) => rnd.intInclusive(lo, hi),
    durable: { hardState: { term: 0, vote: null, commit: 0 }, snapshot: undefined, entries: [] },
  })]))
  let queue: Message[] = []
  let applied = 0
  const pump = (): boolean => {
    let busy = false
    for (const [id, core] of cores) {
      if (!core.hasReady()) continue
      busy = true
      const rd = core.ready()
      for (const m of rd.messages) queue.push(m as Message)
      if (id === leaderId) applied += rd.committed.length
      core.advance(rd)
    }
    const q = queue
    queue = []
    for (const m of q) { busy = true; cores.get(m.to)?.step(m) }
    return busy
  }
  let leaderId = ''
  const a = cores.get('a')
  if (a === undefined) throw new Error('core a')
  while (a.status().role !== 'leader') { a.tick(); while (pump()) { /* settle */ } }
  leaderId = 'a'
  applied = 0
  const payload = new Uint8Array(100).fill(7)
  const started = performance.now()
  let proposed = 0
  while (applied < total) {
    for (let i = 0; i < batch && proposed < total; i++, proposed++) a.propose(payload)
    // Let a few Ready rounds pass per batch so several appends are in flight (pipelining).
    for (let r = 0; r < 3; r++) pump()
  }
  while (pump()) { /* drain */ }
  return total / ((performance.now() - started) / 1000)
}

/**
 * Simulated ms from a leader crash until a new proposal is applied by the new leader. With
 * `reported`, each survivor's transport tells it the leader's connection closed within 0–5 ms.
 */
function failover (seed: number, reported: boolean): number {
  const tickMs = 50
  const clock = new SimClock()
  const rnd = seededRandom(seed)
  const ids = ['a', 'b', 'c']
  const nodes = new Map<string, SimNode>()
  const network = new SimNetwork<Message>(clock, rnd, (to, _from, m) => nodes.get(to)?.receive(m))
  let committedAfterCrash = -1
  let crashAt = -1
  for (const id of ids) {
    const node = new SimNode(id, clock, {
      core: { voters: ids, electionTicks: 10, heartbeatTicks: 1, random: (lo, hi) => rnd.intInclusive(lo, hi) },
      snapshotEvery: 1_000_000,
    }, correctCore, {
      send: (m) => network.send(m.from, m.to, m),
      onApply: (_n, e) => {
        if (crashAt >= 0 && committedAfterCrash < 0 && new TextDecoder().decode(e.data) === 'after') committedAfterCrash = clock.nowMs()
      },
      onSnapshotInstalled: () => {},
      onReadState: () => {},
    }, () => rnd.intInclusive(0, 2))
    nodes.set(id, node)
    clock.after(rnd.intInclusive(0, tickMs - 1), () => { clock.every(tickMs, () => node.tick()) })
  }
  const leader = (): SimNode | undefined => [...nodes.values()].find((n) => n.core?.roleNow === 'leader')
  while (leader() === undefined || clock.nowMs() < 3000) clock.step(clock.nowMs() + 10)
  const old = leader()
  old?.crash()
  crashAt = clock.nowMs()
  if (old !== undefined && reported) {
    for (const n of nodes.values()) if (n !== old) clock.after(rnd.intInclusive(0, 5), () => n.peerDisconnected(old.id))
  }
  // A client keeps retrying its write every 10 ms on the surviving peers.
  clock.every(10, () => { for (const n of nodes.values()) n.propose('after') })
  while (committedAfterCrash < 0) {
    clock.step(clock.nowMs() + 10)
    if (clock.nowMs() - crashAt > 60_000) throw new Error(`seed ${seed}: no commit a minute after the crash`)
  }
  return committedAfterCrash - crashAt
}

/** Runs both measurements. */
export function consensusBenchmark (opts: { entries?: number, batch?: number, failoverSeeds?: number } = {}): ConsensusBenchmarkResult {
  const entries = opts.entries ?? 1_000_000
  const batch = opts.batch ?? 1000
  const failoverSeeds = opts.failoverSeeds ?? 200
  throughput(100_000, batch) // warm-up
  const entriesPerSec = throughput(entries, batch)
  const figures = (reported: boolean): FailoverFigures => {
    const times: number[] = []
    for (let s = 1; s <= failoverSeeds; s++) times.push(failover(s, reported))
    times.sort((x, y) => x - y)
    return { medianMs: times[times.length >> 1]!, p99Ms: times[Math.min(times.length - 1, Math.floor(times.length * 0.99))]! }
  }
  return {
    entriesPerSec: Math.round(entriesPerSec),
    entries,
    batch,
    failover: figures(true),
    silentFailover: figures(false),
    failoverSeeds,
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const r = consensusBenchmark()
  process.stdout.write(`consensus: ${r.entriesPerSec.toLocaleString('en-US')} committed entries/s (3 cores, in-memory, 100-byte proposals, batch ${r.batch}); ` +
    `leader crash → next commit (simulated, tickMs 50, electionTicks 10, ${r.failoverSeeds} seeds): connections closed median ${r.failover.medianMs} ms, p99 ${r.failover.p99Ms} ms; ` +
    `silent leader median ${r.silentFailover.medianMs} ms, p99 ${r.silentFailover.p99Ms} ms\n`)
}
