/**
 * One simulated run from a seed: an ensemble of 3 or 5 simulated nodes on a simulated clock,
 * network and disks. A fault phase (crashes that lose unsynced writes and that the others' transports
 * report as lost connections, spurious connection resets between live nodes, slow disks, symmetric
 * and one-way partitions, loss, duplication, delay, reordering) under a steady write and read load
 * is followed by a liveness phase: everything heals and a new proposal must be applied by every
 * node within a bounded simulated time.
 *
 * After every simulated event the checker verifies: at most one leader per term; a committed
 * entry is never changed (one global committed history, fed by every node's commit index,
 * applies and installed snapshots); every node applies the same sequence; a new leader holds
 * every committed entry; ReadIndex answers cover every write committed before the read was
 * asked. Log matching (same index and term ⇒ same prefix) is checked every few events.
 * The first violation stops the run; the run is a pure function of its options.
 */
import { seededRandom, type Random } from '../../lib/env.js'
import type { Message } from '../../lib/consensus/messages.js'
import type { PeerId } from '../../lib/consensus/types.js'
import { SimClock } from './clock.js'
import { healthyFaults, SimNetwork } from './network.js'
import { entryKey, SimNode } from './node.js'
import { correctCore, type CoreFactory } from './sim-core.js'

/** Options of one run. */
export interface SimOptions {
  readonly seed: number
  readonly peers: 3 | 5
  /** The core under test (default: the real one). */
  readonly makeCore?: CoreFactory
  /** Simulated ms of faults. Default 3000. */
  readonly faultMs?: number
  /** Simulated ms allowed, after healing, for a new proposal to be applied everywhere. Default 10000. */
  readonly livenessMs?: number
  /** Receives a readable line per event when set. */
  readonly trace?: (line: string) => void
}

/** What a run found. */
export interface SimResult {
  readonly seed: number
  readonly peers: number
  /** The first invariant broken, undefined when none. */
  readonly violation: string | undefined
  readonly simMs: number
  /** Highest committed index seen. */
  readonly committed: number
  /** Terms that had a leader. */
  readonly leaderTerms: number
  readonly crashes: number
  readonly snapshotsInstalled: number
  /** Simulated ms from healing until every node applied a new proposal. */
  readonly recoveryMs: number | undefined
}

/** Thrown inside the run loop to stop at the first violation. */
class Violation extends Error {}

const TICK_MS = 10

/** Runs one seed to completion (or to its first violation). */
export function runSim (opts: SimOptions): SimResult {
  const { seed, peers } = opts
  const faultMs = opts.faultMs ?? 3000
  const livenessMs = opts.livenessMs ?? 10_000
  const trace = opts.trace
  const rnd: Random = seededRandom(seed)
  const pick = <T>(xs: readonly T[]): T => xs[rnd.intInclusive(0, xs.length - 1)]
  const clock = new SimClock()
  const ids: PeerId[] = Array.from({ length: peers }, (_, i) => `n${i + 1}`)
  const nodes = new Map<PeerId, SimNode>()
  const log = (line: string): void => { if (trace !== undefined) trace(`${String(clock.nowMs()).padStart(6)}ms ${line}`) }

  // Checker state.
  const history = new Map<number, string>()
  let maxCommitted = 0
  const leaderOf = new Map<number, PeerId>()
  const checkedCommit = new Map<PeerId, number>()
  const lastRole = new Map<PeerId, string>()
  const readFloor = new Map<string, number>()
  let crashes = 0
  let snapshotsInstalled = 0

  const fail = (why: string): never => {
    log(`VIOLATION ${why}`)
    throw new Violation(why)
  }
  const record = (index: number, key: string, who: string): void => {
    const was = history.get(index)
    if (was === undefined) {
      history.set(index, key)
      if (index > maxCommitted) maxCommitted = index
    } else if (was !== key) {
      fail(`committed entry ${index} changed: was ${was}, ${who} has ${key}`)
    }
  }

  const network = new SimNetwork<Message>(clock, rnd, (to, _from, m) => {
    const node = nodes.get(to)
    if (node?.core === undefined) return
    if (trace !== undefined) log(`deliver ${describe(m)}`)
    node.receive(m)
  })

  const electionTicks = 10
  const coreSettings = {
    voters: ids,
    electionTicks,
    heartbeatTicks: rnd.intInclusive(1, 3),
    random: (min: number, max: number) => rnd.intInclusive(min, max),
    maxInflightAppends: rnd.intInclusive(1, 8),
    maxBytesPerAppend: pick([1, 8, 64, 400]),
    maxInflightBytes: rnd.intInclusive(64, 4096),
    snapshotChunkBytes: rnd.intInclusive(64, 2048),
    compactRetainEntries: pick([20, 100, 500]),
    paranoid: true,
  }
  const snapshotEvery = rnd.intInclusive(10, 120)
  const diskLatency = new Map<PeerId, () => number>()
  const fastDisk = (): number => rnd.intInclusive(0, 2)
  const makeCore = opts.makeCore ?? correctCore

  for (const id of ids) {
    // Hosts of both kinds, side by side: synchronous writes, and writes that complete late.
    const asyncWrites = rnd.intInclusive(0, 1) === 1
    const node = new SimNode(id, clock, { core: coreSettings, snapshotEvery, asyncWrites }, makeCore, {
      send: (m) => {
        Object.freeze(m)
        if (m.type === 'app') Object.freeze(m.entries)
        network.send(m.from, m.to, m)
      },
      onApply: (n, e) => record(e.index, entryKey(e), `${n.id} (apply)`),
      onSnapshotInstalled: (n, snap) => {
        snapshotsInstalled++
        log(`${n.id} installs snapshot @${snap.meta.index} t${snap.meta.term} (${snap.data.length} bytes)`)
        n.keys.forEach((k, i) => record(i + 1, k, `${n.id} (snapshot)`))
      },
      onReadState: (n, rs) => {
        const floor = readFloor.get(rs.ctx)
        if (floor !== undefined && rs.index < floor) fail(`read ${rs.ctx} on ${n.id} at index ${rs.index} misses committed ${floor}`)
      },
    }, () => diskLatency.get(id)?.() ?? fastDisk())
    nodes.set(id, node)
    // Ticks drift apart per node, like real timers.
    clock.after(rnd.intInclusive(0, TICK_MS - 1), () => { clock.every(TICK_MS, () => node.tick()) })
  }
  const up = (): SimNode[] => [...nodes.values()].filter((n) => n.core !== undefined)

  const check = (): void => {
    for (const node of nodes.values()) {
      const core = node.core
      if (core === undefined) continue
      const role = core.roleNow
      const term = core.termNow
      if (trace !== undefined && lastRole.get(node.id) !== `${role}@${term}`) {
        lastRole.set(node.id, `${role}@${term}`)
        log(`${node.id} is ${role} in term ${term} (commit ${core.commitNow}, last ${core.lastIndexNow})`)
      }
      if (role === 'leader') {
        const other = leaderOf.get(term)
        if (other === undefined) {
          leaderOf.set(term, node.id)
          // Leader completeness (Raft §5.4): every committed entry is in the new leader's log.
          if (core.lastIndexNow < maxCommitted) fail(`leader ${node.id} of term ${term} lacks committed entries up to ${maxCommitted}`)
          for (let i = core.snapIndexNow + 1; i <= maxCommitted; i++) {
            const key = history.get(i)
            if (key !== undefined && key !== entryKey(core.entryAt(i))) fail(`leader ${node.id} of term ${term} has ${entryKey(core.entryAt(i))} at committed ${i} (${key})`)
          }
        } else if (other !== node.id) {
          fail(`two leaders in term ${term}: ${other} and ${node.id}`)
        }
      }
      const commit = core.commitNow
      for (let i = Math.max(checkedCommit.get(node.id) ?? 0, core.snapIndexNow) + 1; i <= commit; i++) {
        record(i, entryKey(core.entryAt(i)), `${node.id} (commit)`)
      }
      checkedCommit.set(node.id, commit)
    }
  }

  const checkLogMatching = (): void => {
    const live = up()
    for (let a = 0; a < live.length; a++) {
      for (let b = a + 1; b < live.length; b++) {
        const x = live[a].core
        const y = live[b].core
        if (x === undefined || y === undefined) continue
        const lo = Math.max(x.snapIndexNow, y.snapIndexNow) + 1
        let hi = Math.min(x.lastIndexNow, y.lastIndexNow)
        while (hi >= lo && x.termAt(hi) !== y.termAt(hi)) hi--
        for (let i = hi; i >= lo; i--) {
          if (entryKey(x.entryAt(i)) !== entryKey(y.entryAt(i))) {
            fail(`log matching: ${live[a].id} and ${live[b].id} agree at ${hi} (term ${x.termAt(hi)}) but differ at ${i}`)
          }
        }
      }
    }
  }

  // Load: writes to random nodes (forwarded to the leader) and reads.
  let seq = 0
  const proposer = clock.every(rnd.intInclusive(3, 15), () => {
    const n = pick(ids)
    const data = `w${++seq}`
    if (nodes.get(n)?.propose(data) === true) log(`${n} proposes ${data}`)
  })
  const reader = clock.every(rnd.intInclusive(20, 60), () => {
    const n = pick(ids)
    const ctx = `r${++seq}`
    readFloor.set(ctx, maxCommitted)
    if (nodes.get(n)?.readIndex(ctx) === true) log(`${n} reads ${ctx} (floor ${maxCommitted})`)
  })

  // Faults.
  const faults = clock.every(rnd.intInclusive(50, 300), () => {
    const r = rnd.intInclusive(0, 99)
    if (r < 20) {
      const live = up()
      if (live.length === 0) return
      const n = pick(live)
      n.crash()
      crashes++
      checkedCommit.set(n.id, 0)
      log(`${n.id} CRASHES (${n.disk.pending()} writes lost)`)
      // Its kernel closes its connections: each other node's transport reports it soon after,
      // unless a partition already cut them apart (then no close reaches it).
      for (const other of up()) {
        if (network.isCut(n.id, other.id)) continue
        clock.after(rnd.intInclusive(0, 5), () => {
          log(`${other.id} transport: lost ${n.id}`)
          other.peerDisconnected(n.id)
        })
      }
    } else if (r < 40) {
      const down = [...nodes.values()].filter((n) => n.core === undefined)
      if (down.length === 0) return
      const n = pick(down)
      n.start()
      log(`${n.id} RESTARTS`)
    } else if (r < 52) {
      const shuffled = ids.slice()
      for (let i = shuffled.length - 1; i > 0; i--) {
        const j = rnd.intInclusive(0, i)
        const t = shuffled[i]; shuffled[i] = shuffled[j]; shuffled[j] = t
      }
      const cut = rnd.intInclusive(1, ids.length - 1)
      network.partition([shuffled.slice(0, cut), shuffled.slice(cut)])
      log(`PARTITION ${network.describePartitions()}`)
    } else if (r < 62) {
      const from = pick(ids)
      const to = pick(ids.filter((i) => i !== from))
      network.blockOneWay(from, to)
      log(`BLOCK ${from}>${to}`)
    } else if (r < 77) {
      network.healPartitions()
      log('HEAL partitions')
    } else if (r < 82) {
      // A connection reset between two live nodes: both transports report the other lost.
      const a = pick(ids)
      const b = pick(ids.filter((i) => i !== a))
      log(`RESET ${a}<>${b}`)
      nodes.get(a)?.peerDisconnected(b)
      nodes.get(b)?.peerDisconnected(a)
    } else if (r < 88) {
      const f = network.faults
      f.dropRate = pick([0, 0, 0.01, 0.05, 0.2])
      f.dupRate = pick([0, 0, 0.01, 0.05])
      f.minDelayMs = rnd.intInclusive(0, 5)
      f.maxDelayMs = f.minDelayMs + pick([2, 10, 40])
      log(`NET drop ${f.dropRate} dup ${f.dupRate} delay ${f.minDelayMs}-${f.maxDelayMs}ms`)
    } else if (r < 92) {
      // Graceful stop of a leader: hand leadership over.
      const leader = up().find((n) => n.core?.roleNow === 'leader')
      if (leader?.core?.transferLeadership() === true) log(`${leader.id} TRANSFERS leadership`)
    } else if (r < 96) {
      const n = pick(ids)
      const slow = rnd.intInclusive(10, 80)
      diskLatency.set(n, () => rnd.intInclusive(slow >> 1, slow))
      log(`${n} disk SLOW ~${slow}ms`)
    } else {
      const n = pick(ids)
      diskLatency.delete(n)
      log(`${n} disk FAST`)
    }
  })

  let violation: string | undefined
  let recoveryMs: number | undefined
  let events = 0
  try {
    while (clock.step(faultMs)) {
      check()
      if (++events % 64 === 0) checkLogMatching()
    }
    // Liveness phase: heal everything, then require a new proposal applied by every node.
    faults.cancel()
    network.healPartitions()
    network.faults = healthyFaults()
    diskLatency.clear()
    for (const n of nodes.values()) if (n.core === undefined) n.start()
    log('HEAL ALL: liveness phase')
    const healedAt = clock.nowMs()
    const marker = 'live'
    let proposed = 0
    const liveProposer = clock.every(20, () => {
      const n = pick(ids)
      if (nodes.get(n)?.propose(`${marker}${++proposed}`) === true) log(`${n} proposes ${marker}${proposed}`)
    })
    const done = (): boolean => [...nodes.values()].every((n) => n.keys.some((k) => k.includes(`:${marker}`)))
    const deadline = healedAt + livenessMs
    while (!done()) {
      if (!clock.step(deadline)) fail(`liveness: no new proposal applied by every node ${livenessMs}ms after healing`)
      check()
      if (++events % 64 === 0) checkLogMatching()
    }
    recoveryMs = clock.nowMs() - healedAt
    liveProposer.cancel()
    checkLogMatching()
  } catch (err) {
    if (err instanceof Violation) violation = err.message
    else {
      violation = `exception: ${err instanceof Error ? err.stack ?? err.message : String(err)}`
      log(`VIOLATION ${violation}`)
    }
  }
  proposer.cancel()
  reader.cancel()
  return {
    seed,
    peers,
    violation,
    simMs: clock.nowMs(),
    committed: maxCommitted,
    leaderTerms: leaderOf.size,
    crashes,
    snapshotsInstalled,
    recoveryMs,
  }
}

/** One line per message, for traces. */
export function describe (m: Message): string {
  const head = `${m.from}->${m.to} ${m.type} t${m.term}`
  switch (m.type) {
    case 'app': return `${head} prev=${m.index}/t${m.logTerm} n=${m.entries.length}${m.entries.length > 0 ? ` [${m.entries[0].index}..${m.entries[m.entries.length - 1].index}]` : ''} commit=${m.commit}`
    case 'appResp': return `${head} index=${m.index}${m.reject ? ` REJECT hint=${m.hintIndex}/t${m.hintTerm}` : ''}`
    case 'hb': return `${head} commit=${m.commit}${m.ahead === undefined ? '' : ` ahead=${m.ahead}/t${m.aheadTerm ?? '?'}`} seq=${m.seq}`
    case 'hbResp': return `${head} seq=${m.seq}`
    case 'vote': case 'preVote': return `${head} last=${m.index}/t${m.logTerm}${m.force ? ' force' : ''}`
    case 'voteResp': case 'preVoteResp': return `${head} ${m.reject ? 'REJECT' : 'grant'}`
    case 'snap': return `${head} @${m.meta.index}/t${m.meta.term} ${m.offset}+${m.data.length}/${m.totalBytes}${m.done ? ' done' : ''}`
    case 'snapResp': return `${head} @${m.index} offset=${m.offset}`
    case 'prop': return `${head} n=${m.data.length}`
    case 'readIndex': return `${head} ctx=${m.ctx}`
    case 'readIndexResp': return `${head} ctx=${m.ctx} index=${m.index}`
    case 'timeoutNow': return head
  }
}
