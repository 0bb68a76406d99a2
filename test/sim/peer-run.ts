/**
 * One whole-peer simulated run from a seed: 3 or 5 complete `Peer`s (consensus, tree, sessions,
 * watches) on a simulated clock, network and disks, with clients issuing concurrent operations
 * through Sessions. A fault phase (peer crashes losing unsynced writes and restarts from the
 * durable part, reported by the others' transports as lost connections; spurious connection
 * resets between live peers; symmetric and one-way partitions, loss, duplication, delay, reordering, slow
 * disks, wall-clock skew) is followed by a liveness phase: faults heal, then a write must commit
 * and every client must complete an operation within a bounded simulated time.
 *
 * After every simulated event (with microtasks drained, so the peers are quiescent) the run
 * checks: at most one leader per term; trees are equal at equal applied zxid (a digest of
 * `tree.snapshot()` per applied index); every ephemeral's owner session is live on that peer; no
 * peer logged an error (a failed assertion stops a peer). At the end the recorded client history
 * goes through history.ts. The checks read peer internals (`sm`) through a test-only cast.
 *
 * Determinism: everything is driven by SimClock callbacks; after each one the loop awaits
 * `setImmediate`, which runs only once the microtask queue is empty, so every promise chain the
 * callback started has settled before the next event. The run is a function of its options.
 */
import { createHash } from 'node:crypto'
import { seededRandom, type Random } from '../../lib/env.js'
import { ZkError } from '../../lib/errors.js'
import { Peer } from '../../lib/peer.js'
import type { Session } from '../../lib/session/session.js'
import type { StateMachine } from '../../lib/state-machine.js'
import type { Stat } from '../../lib/tree/types.js'
import { SimClock } from './clock.js'
import { SimDisk } from './disk.js'
import { checkHistory, describeOp, UNKNOWN_CODES, type OpKind, type OpRecord, type ReadResult } from './history.js'
import { healthyFaults, SimNetwork } from './network.js'
import { emptyDurableState, Incarnation, simEnv, SimStorage, SimTransports, tracingLogger, type DurablePeerState } from './peer-adapters.js'

/** The part of a Session the clients use; planted bugs wrap it (test-only). */
export interface ClientSession {
  create (path: string, data: string): Promise<string>
  setData (path: string, data: string, version: number): Promise<Stat>
  delete (path: string, version: number): Promise<void>
  getData (path: string): Promise<{ data: Buffer, stat: Stat }>
  exists (path: string): Promise<Stat | null>
  sync (path: string): Promise<void>
  createEphemeral (path: string): Promise<string>
}

/** Builds the ClientSession over a real Session: the identity, or a planted bug. */
export type SessionWrapper = (session: Session, ctx: { readonly random: Random }) => ClientSession

/** The honest wrapper: calls straight through. */
export const honestSession: SessionWrapper = (s) => ({
  create: (p, d) => s.create(p, d),
  setData: (p, d, v) => s.setData(p, d, v),
  delete: (p, v) => s.delete(p, v),
  getData: (p) => s.getData(p),
  exists: (p) => s.exists(p),
  sync: (p) => s.sync(p),
  createEphemeral: (p) => s.create(p, '', { mode: 1 }),
})

/** Options of one whole-peer run. */
export interface PeerSimOptions {
  readonly seed: number
  readonly peers: 3 | 5
  /** Concurrent clients (one session each at a time). Default 5. */
  readonly clients?: number
  /** Simulated ms of faults. Default 3000. */
  readonly faultMs?: number
  /** Simulated ms allowed after healing for a write to commit and every client to resume. Default 15000. */
  readonly livenessMs?: number
  /** Wraps each session (test-only planted bugs). Default {@link honestSession}. */
  readonly wrapSession?: SessionWrapper
  /** Receives a readable line per event when set. */
  readonly trace?: (line: string) => void
}

/** What a run found. */
export interface PeerSimResult {
  readonly seed: number
  readonly peers: number
  /** The first violation, undefined when none. */
  readonly violation: string | undefined
  readonly simMs: number
  readonly events: number
  readonly ops: number
  readonly ackedWrites: number
  readonly unknownOps: number
  readonly crashes: number
  readonly sessionsOpened: number
  /** Sessions taken over by another peer (id + password), after a crash or at random. */
  readonly sessionsMoved: number
  /** Keys whose linearizability search hit its budget (neither proven nor refuted). */
  readonly inconclusiveKeys: number
  /** Simulated ms from healing until a write committed and every client completed an operation. */
  readonly recoveryMs: number | undefined
}

/** Thrown inside the run loop to stop at the first violation. */
class Violation extends Error {}

const KEYS = ['/k0', '/k1', '/k2']
/** Outcomes the per-key model knows; other definite failures (SESSIONEXPIRED) took no effect. */
const MODEL_CODES = new Set(['ok', 'NONODE', 'NODEEXISTS', 'BADVERSION'])

interface SimPeer {
  readonly id: string
  readonly disk: SimDisk<DurablePeerState>
  life: Incarnation
  peer: Peer | undefined
  /** Applied index and digest last checked, to hash only on change. */
  checkedIndex: number
}

interface Client {
  readonly n: number
  session: ClientSession | undefined
  real: Session | undefined
  label: string
  /** The peer incarnation serving the session; ops answered after it died are not recorded. */
  life: Incarnation | undefined
  busy: boolean
  current: OpRecord | undefined
  ephemerals: number
  /** Completed an operation (any definite answer) invoked after healing. */
  resumed: boolean
}

/** Every znode with its data and stat, one per line in path order: a readable, canonical tree. */
function dumpTree (sm: StateMachine): string {
  const lines: string[] = []
  const superUser = [{ scheme: 'super', id: '' }]
  const walk = (path: string): void => {
    const { data, stat } = sm.tree.getData(path, superUser)
    lines.push(`  ${path} ${JSON.stringify(data.toString('latin1'))} ${JSON.stringify(stat, (_k, v: unknown) => typeof v === 'bigint' ? v.toString() : v)}`)
    for (const child of sm.tree.getChildren(path, superUser)) walk(path === '/' ? `/${child}` : `${path}/${child}`)
  }
  walk('/')
  return lines.join('\n')
}

/** The lines of two tree dumps that differ, each labelled with its peer. */
function diffLines (a: string, dumpA: string, b: string, dumpB: string): string {
  const inA = new Set(dumpA.split('\n'))
  const inB = new Set(dumpB.split('\n'))
  return [...[...inA].filter((l) => !inB.has(l)).map((l) => `${a}${l}`), ...[...inB].filter((l) => !inA.has(l)).map((l) => `${b}${l}`)].join('\n')
}

/** Runs one seed to completion (or to its first violation). */
export async function runPeerSim (opts: PeerSimOptions): Promise<PeerSimResult> {
  const { seed, peers } = opts
  const faultMs = opts.faultMs ?? 3000
  const livenessMs = opts.livenessMs ?? 15_000
  const wrap = opts.wrapSession ?? honestSession
  const trace = opts.trace
  const rnd = seededRandom(seed)
  const pick = <T>(xs: readonly T[]): T => xs[rnd.intInclusive(0, xs.length - 1)]!
  const clock = new SimClock()
  const log = (line: string): void => { if (trace !== undefined) trace(`${String(clock.nowMs()).padStart(6)}ms ${line}`) }
  const ids = Array.from({ length: peers }, (_, i) => `p${i + 1}`)
  const ensemble = Object.fromEntries(ids.map((id) => [id, `memory://${id}`]))

  const transports: SimTransports = new SimTransports(new SimNetwork<Uint8Array>(clock, rnd, (to, from, m) => transports.deliver(to, from, m)))
  const network = transports.network
  const diskLatency = new Map<string, () => number>()
  const fastDisk = (): number => rnd.intInclusive(0, 2)

  const peerOptions = {
    tickMs: 10,
    electionTicks: 10,
    heartbeatTicks: rnd.intInclusive(1, 3),
    sessionTimeoutMs: rnd.intInclusive(1000, 4000),
    minSessionTimeoutMs: 300,
    maxSessionTimeoutMs: 8000,
    reapIntervalMs: 200,
    snapshotEntries: pick([40, 150, 20_000]),
  }
  let violation: string | undefined
  const errors: string[] = []
  const fail = (why: string): never => {
    log(`VIOLATION ${why}`)
    throw new Violation(why)
  }

  const sims = new Map<string, SimPeer>()
  let incarnations = 0
  const startPeer = async (sp: SimPeer): Promise<void> => {
    const life = new Incarnation()
    sp.life = life
    sp.checkedIndex = -1
    const n = ++incarnations
    const errorLog = tracingLogger(sp.id, (line) => {
      log(line)
      // An error record means a peer failed (an assertion, a storage error): a finding.
      if (line.startsWith(`${sp.id} error`)) errors.push(line)
    })
    sp.peer = await Peer.start({
      id: sp.id,
      listen: ensemble[sp.id],
      ensemble,
      ...peerOptions,
      storage: new SimStorage(sp.disk),
      transport: transports.factory(life),
      env: simEnv({ clock, life, seed: seed * 1000 + n, skewMs: rnd.intInclusive(-500, 500), log: errorLog }),
      log: errorLog,
    })
    log(`${sp.id} started (incarnation ${n})`)
  }
  for (const id of ids) {
    const sp: SimPeer = { id, disk: new SimDisk<DurablePeerState>(clock, emptyDurableState(), () => diskLatency.get(id)?.() ?? fastDisk()), life: new Incarnation(), peer: undefined, checkedIndex: -1 }
    sims.set(id, sp)
  }
  const up = (): SimPeer[] => [...sims.values()].filter((s) => s.life.alive && s.peer !== undefined)

  // ── invariants after every event ─────────────────────────────────────────────────────────
  const leaderOf = new Map<number, string>()
  const digestAt = new Map<number, { digest: string, by: string, dump: string }>()
  const lastRole = new Map<string, string>()
  const internals = (p: Peer): StateMachine => (p as unknown as { sm: StateMachine }).sm
  const check = (): void => {
    if (errors.length > 0) fail(`a peer logged an error: ${errors[0]}`)
    for (const sp of up()) {
      const p = sp.peer!
      if (trace !== undefined && lastRole.get(sp.id) !== `${p.role}@${p.term}`) {
        lastRole.set(sp.id, `${p.role}@${p.term}`)
        log(`${sp.id} is ${p.role} in term ${p.term} (leader ${p.leaderId ?? '-'})`)
      }
      if (p.role === 'leader') {
        const other = leaderOf.get(p.term)
        if (other === undefined) leaderOf.set(p.term, sp.id)
        else if (other !== sp.id) fail(`two leaders in term ${p.term}: ${other} and ${sp.id}`)
      }
      const sm = internals(p)
      if (sm.appliedIndex === sp.checkedIndex) continue
      sp.checkedIndex = sm.appliedIndex
      const digest = createHash('sha256').update(sm.tree.snapshot()).digest('hex').slice(0, 16)
      const seen = digestAt.get(sm.appliedIndex)
      if (seen === undefined) digestAt.set(sm.appliedIndex, { digest, by: sp.id, dump: dumpTree(sm) })
      else if (seen.digest !== digest) {
        const mine = dumpTree(sm)
        fail(`trees differ at zxid ${sm.appliedIndex}: ${seen.by} has ${seen.digest}, ${sp.id} has ${digest}` +
          (mine === seen.dump ? ' (same nodes and stats: only the encoding differs)' : `; differing znodes:\n${diffLines(seen.by, seen.dump, sp.id, mine)}`))
      }
      for (const owner of sm.tree.ephemeralOwners()) {
        if (sm.sessions.get(owner) === undefined) fail(`${sp.id} at zxid ${sm.appliedIndex}: ephemerals of session 0x${owner.toString(16)}, which is not live`)
      }
    }
  }

  let events = 0
  const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))
  /** Runs events up to `untilMs`, or until `stop()` says so; checks after each. */
  const runUntil = async (untilMs: number, stop?: () => boolean): Promise<void> => {
    while (clock.step(untilMs)) {
      events++
      await settle()
      check()
      if (stop?.() === true) return
    }
    await settle()
    check()
  }

  // ── clients ──────────────────────────────────────────────────────────────────────────────
  const history: OpRecord[] = []
  let seq = 0
  let valueCounter = 0
  let sessionsOpened = 0
  let healed = false
  let clientsRun = true
  const clients: Client[] = Array.from({ length: opts.clients ?? 5 }, (_, n) => ({
    n, session: undefined, real: undefined, label: '', life: undefined, busy: false, current: undefined, ephemerals: 0, resumed: false,
  }))

  const dropSession = (c: Client): void => {
    c.session = undefined
    c.real = undefined
    c.life = undefined
    c.current = undefined
    c.busy = false
  }
  const later = (c: Client): void => { clock.after(rnd.intInclusive(0, 30), () => act(c)) }

  const connect = (c: Client): void => {
    const live = up()
    if (live.length === 0) { later(c); return }
    const sp = live[c.n % live.length]!
    const life = sp.life
    c.busy = true
    // Owned by this incarnation while connecting, so its crash frees the client.
    c.life = life
    sp.peer!.connect().then((s) => {
      if (!life.alive || c.life !== life) return
      sessionsOpened++
      use(c, s, life, `${sp.id}/0x${s.sessionId.toString(16)}`)
      log(`c${c.n} opened session ${c.label}`)
      later(c)
    }, (err: unknown) => {
      if (!life.alive || c.life !== life) return
      c.life = undefined
      log(`c${c.n} could not open a session on ${sp.id}: ${String(err)}`)
      c.busy = false
      later(c)
    })
  }

  const use = (c: Client, s: Session, life: Incarnation, label: string): void => {
    c.real = s
    c.session = wrap(s, { random: rnd })
    c.life = life
    c.label = label
    c.busy = false
    s.on('state', (state: string) => {
      // act() notices an ended session and opens a new one.
      log(`c${c.n} session ${label} (a handle of it) is ${state}`)
    })
  }

  /**
   * Takes the client's session to another live peer by id and password, as a ZooKeeper client
   * does when its server dies. The label stays: per-session guarantees must hold across moves.
   */
  let moves = 0
  const move = (c: Client, old: Session, label: string, from: string): void => {
    const live = up().filter((sp) => sp.id !== from)
    if (live.length === 0) { later(c); return }
    const sp = pick(live)
    const life = sp.life
    c.busy = true
    c.life = life
    log(`c${c.n} moves session ${label} from ${from} to ${sp.id}`)
    sp.peer!.connect({ sessionId: old.sessionId, password: old.password }).then((s) => {
      if (!life.alive || c.life !== life) return
      moves++
      use(c, s, life, label)
      later(c)
    }, (err: unknown) => {
      if (!life.alive || c.life !== life) return
      log(`c${c.n} could not move session ${label} to ${sp.id}: ${String(err)}`)
      dropSession(c)
      later(c)
    })
  }

  const act = (c: Client): void => {
    if (!clientsRun || c.busy) return
    if (c.life !== undefined && !c.life.alive) dropSession(c)
    if (c.real !== undefined && (c.real.state === 'expired' || c.real.state === 'closed')) dropSession(c)
    const s = c.session
    if (s === undefined) { connect(c); return }
    const key = pick(KEYS)
    const roll = rnd.intInclusive(0, 99)
    const holder = [...sims.values()].find((sp) => sp.life === c.life)
    if (roll < 2 && c.real !== undefined && holder !== undefined) {
      move(c, c.real, c.label, holder.id)
      return
    }
    if (roll < 4) {
      // Ephemerals exercise session close and expiry; they are not part of the modelled keys.
      c.busy = true
      const life = c.life
      s.createEphemeral(`/e-c${c.n}-${++c.ephemerals}`).then(() => {}, () => {}).finally(() => {
        if (life === c.life) { c.busy = false; later(c) }
      })
      return
    }
    const kind: OpKind = roll < 20 ? 'create' : roll < 45 ? 'set' : roll < 55 ? 'delete' : roll < 70 ? 'get' : roll < 78 ? 'exists' : 'syncget'
    const versioned = (kind === 'set' || kind === 'delete') && rnd.intInclusive(0, 1) === 0
    const value = kind === 'create' || kind === 'set' ? `v${++valueCounter}` : undefined
    const version = versioned ? rnd.intInclusive(0, 3) : kind === 'set' || kind === 'delete' ? -1 : undefined
    const op: OpRecord = { id: history.length, client: c.n, session: c.label, kind, key, value, version, invokeSeq: ++seq, invokeMs: clock.nowMs() }
    history.push(op)
    c.busy = true
    c.current = op
    const life = c.life
    const toResult = (stat: Stat, data: string): ReadResult => ({ value: data, version: stat.version, mzxid: stat.mzxid, czxid: stat.czxid })
    const run = async (): Promise<ReadResult | null | undefined> => {
      switch (kind) {
        case 'create': await s.create(key, value!); return undefined
        case 'set': return toResult(await s.setData(key, value!, version!), value!)
        case 'delete': await s.delete(key, version!); return undefined
        case 'get': { const r = await s.getData(key); return toResult(r.stat, r.data.toString('latin1')) }
        case 'exists': { const st = await s.exists(key); return st === null ? null : toResult(st, '?') }
        case 'syncget': {
          await s.sync('/')
          const r = await s.getData(key)
          return toResult(r.stat, r.data.toString('latin1'))
        }
      }
    }
    log(`c${c.n} invokes ${describeOp(op)}`)
    run().then((result) => {
      op.outcome = 'ok'
      op.result = result
    }, (err: unknown) => {
      if (!(err instanceof ZkError)) {
        errors.push(`c${c.n} op #${op.id} threw a non-ZkError: ${err instanceof Error ? err.stack ?? err.message : String(err)}`)
        return
      }
      op.outcome = UNKNOWN_CODES.has(err.code) ? 'unknown' : err.code
      if ((kind === 'get' || kind === 'syncget') && err.code === 'NONODE') op.result = null
    }).finally(() => {
      // An answer from a peer that crashed meanwhile cannot happen; if it did, it is ignored.
      if (life === undefined || !life.alive || c.current !== op) return
      op.respSeq = ++seq
      op.respMs = clock.nowMs()
      log(`c${c.n} answered ${describeOp(op)}`)
      if (healed && op.outcome !== 'unknown') c.resumed = true
      c.current = undefined
      c.busy = false
      if (op.outcome === 'SESSIONEXPIRED') dropSession(c)
      later(c)
    })
  }

  // ── faults ───────────────────────────────────────────────────────────────────────────────
  let crashes = 0
  const crash = (sp: SimPeer): void => {
    crashes++
    log(`${sp.id} CRASHES (${sp.disk.pending()} disk writes lost)`)
    sp.life.kill()
    sp.disk.crash()
    sp.peer = undefined
    // Its kernel closes its connections: the others' transports report it soon after, unless
    // a partition already cut them apart.
    for (const other of up()) {
      if (network.isCut(sp.id, other.id)) continue
      clock.after(rnd.intInclusive(0, 5), () => transports.reportLost(other.id, sp.id))
    }
    for (const c of clients) {
      if (c.life !== sp.life) continue
      // Its operation in flight stays unanswered (unknown outcome); the client moves on, half
      // the time taking its session to another peer.
      const { real, label } = c
      dropSession(c)
      if (real !== undefined && rnd.intInclusive(0, 1) === 0) move(c, real, label, sp.id)
      else later(c)
    }
  }
  const restart = (sp: SimPeer): void => {
    log(`${sp.id} restarts`)
    void startPeer(sp)
  }
  const maxDown = Math.floor((peers - 1) / 2) + 1 // one more than a minority, now and then
  const fault = (): void => {
    const r = rnd.intInclusive(0, 99)
    const down = [...sims.values()].filter((s) => !s.life.alive)
    if (r < 18 && down.length < maxDown && up().length > 0) {
      crash(pick(up()))
    } else if (r < 35 && down.length > 0) {
      restart(pick(down))
    } else if (r < 50) {
      const shuffled = [...ids].sort(() => rnd.intInclusive(0, 1) === 0 ? -1 : 1)
      const cut = rnd.intInclusive(1, peers - 1)
      network.healPartitions()
      network.partition([shuffled.slice(0, cut), shuffled.slice(cut)])
      log(`partition ${network.describePartitions()}`)
    } else if (r < 58) {
      const a = pick(ids)
      const b = pick(ids.filter((x) => x !== a))
      network.blockOneWay(a, b)
      log(`one-way cut ${a}>${b}`)
    } else if (r < 68) {
      network.healPartitions()
      log('partitions healed')
    } else if (r < 72) {
      // A connection reset between two live peers: both transports report the other lost.
      const a = pick(ids)
      const b = pick(ids.filter((x) => x !== a))
      log(`connection reset ${a}<>${b}`)
      transports.reportLost(a, b)
      transports.reportLost(b, a)
    } else if (r < 88) {
      network.faults = {
        dropRate: pick([0, 0.02, 0.1, 0.3]),
        dupRate: pick([0, 0.05, 0.2]),
        minDelayMs: rnd.intInclusive(0, 3),
        maxDelayMs: pick([3, 10, 40, 120]),
      }
      log(`network faults ${JSON.stringify(network.faults)}`)
    } else {
      const id = pick(ids)
      const slow = rnd.intInclusive(5, 60)
      diskLatency.set(id, () => rnd.intInclusive(0, slow))
      log(`${id} disk slow (≤${slow}ms)`)
    }
  }

  let recoveryMs: number | undefined
  try {
    for (const sp of sims.values()) await startPeer(sp)
    await runUntil(300)
    for (const c of clients) clock.after(rnd.intInclusive(0, 50), () => act(c))
    // Fault phase: a fault every 50–400 ms under the client load.
    const faultTimer = { stopped: false }
    const nextFault = (): void => {
      clock.after(rnd.intInclusive(50, 400), () => {
        if (faultTimer.stopped) return
        fault()
        nextFault()
      })
    }
    nextFault()
    await runUntil(300 + faultMs)
    faultTimer.stopped = true

    // Liveness phase: heal everything, restart the crashed, then require progress.
    healed = true
    network.healPartitions()
    network.faults = healthyFaults()
    diskLatency.clear()
    for (const sp of sims.values()) if (!sp.life.alive) restart(sp)
    log('HEAL: network, disks and peers restored')
    const healMs = clock.nowMs()
    const ackedAfter = (): boolean => history.some((o) => o.invokeMs >= healMs && o.outcome === 'ok' && (o.kind === 'create' || o.kind === 'set' || o.kind === 'delete'))
    const live = (): boolean => ackedAfter() && clients.every((c) => c.resumed)
    await runUntil(healMs + livenessMs, live)
    if (!live()) {
      const stuck = clients.filter((c) => !c.resumed).map((c) => `c${c.n}${c.current === undefined ? '' : ` (waiting on #${c.current.id})`}`)
      fail(`liveness: ${livenessMs}ms after healing, ${ackedAfter() ? '' : 'no write committed; '}clients not resumed: ${stuck.join(', ') || 'none'}`)
    }
    recoveryMs = clock.nowMs() - healMs
    clientsRun = false
    // Let in-flight operations answer; whatever does not is an unknown outcome.
    await runUntil(clock.nowMs() + 2000)
  } catch (err) {
    if (!(err instanceof Violation)) throw err
    violation = err.message
  }
  const acked = history.filter((o) => o.outcome === 'ok' && (o.kind === 'create' || o.kind === 'set' || o.kind === 'delete')).length
  const verdict = checkHistory(history.filter((o) => o.respSeq === undefined || o.outcome === 'unknown' || MODEL_CODES.has(o.outcome ?? '') || o.kind === 'get' || o.kind === 'exists'))
  if (violation === undefined && verdict.violations.length > 0) {
    violation = verdict.violations.map((v) => `${v.check}: ${v.message}`).join('\n')
    log(`VIOLATION ${violation}`)
  }
  // Stop every timer so nothing of this run lingers in the process.
  for (const sp of sims.values()) sp.life.kill()
  return {
    seed,
    peers,
    violation,
    simMs: clock.nowMs(),
    events,
    ops: history.length,
    ackedWrites: acked,
    unknownOps: history.filter((o) => o.respSeq === undefined || o.outcome === 'unknown').length,
    crashes,
    sessionsOpened,
    sessionsMoved: moves,
    inconclusiveKeys: verdict.inconclusiveKeys,
    recoveryMs,
  }
}
