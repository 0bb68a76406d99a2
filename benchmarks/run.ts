/**
 * The benchmark suite: `npm run bench [-- --quick] [--compare zookeeper] [--json FILE] [--out DIR]
 * [--only w1,w2] [--mode durable|memory] [--profile] [--skip-inprocess] [--steady-seconds N]`.
 *
 * What it measures: a 3-peer zkpeer ensemble of separate Node.js processes over TCP on loopback
 * (test/cluster), 100-byte values, durable (dataDir, fsync) and in-memory. The load is generated
 * inside the peer processes through the public Session API, as an embedding app would
 * (test/cluster/loadgen.ts). With `--compare zookeeper` the same loops run against a 3-server
 * Apache ZooKeeper ensemble (benchmarks/zookeeper.ts) through node-zookeeper-client, from one
 * load-generator process per server (benchmarks/zk-client-child.ts), and each figure is printed
 * beside ZooKeeper's with the ratio. Then the in-process figures: one peer through the Session
 * (single-peer.ts) and the consensus core alone (consensus-throughput.ts).
 *
 * The `steady` workload (zkpeer only) holds full write load on the ensemble for a bounded time
 * (--steady-seconds; default 300, 20 with --quick) and reports the terms and leader changes it
 * saw, which must be none (a spurious election under load is a bug to fix, not noise), and
 * the write throughput per interval.
 *
 * Output: a progress line per step on stderr; the Markdown table on stdout and in
 * OUT/results.md (default bench-results/); JSON in --json FILE (default OUT/results.json),
 * shaped `{ machine, results: [{ system, workload, durable, opsPerSec?, p50Ms?, p99Ms?, p999Ms?,
 * value?, unit?, … }], extras: [...] }`. Each row says what was measured, over how many
 * operations, its spread (p50/p99/p99.9 over all operations of all repeats; min–max of the
 * per-repeat throughput) and the 1-minute load average when it was taken (the machine is shared).
 *
 * Everything it starts (peer processes, ZooKeeper JVMs, load generators) it stops, also on
 * Ctrl-C, SIGTERM and errors. It never installs anything.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Cluster, PeerProcess } from '../test/cluster/cluster.js'
import type { GenBenchReport } from '../test/cluster/loadgen.js'
import { consensusBenchmark } from './consensus-throughput.js'
import { summarizeProfile } from './profile-summary.js'
import { singlePeerBench } from './single-peer.js'
import { ZkEnsemble, findZooKeeper, installHint, srvr, type ZooKeeperInstall } from './zookeeper.js'

// ---------------------------------------------------------------------------------------------
// Options

const argv = process.argv.slice(2)
const flag = (name: string): boolean => argv.includes(name)
const option = (name: string): string | undefined => {
  const i = argv.indexOf(name)
  return i >= 0 ? argv[i + 1] : undefined
}
const quick = flag('--quick')
const compare = option('--compare')
const outDir = option('--out') ?? 'bench-results'
const jsonFile = option('--json') ?? join(outDir, 'results.json')
const only = option('--only')?.split(',')
const modes: boolean[] = option('--mode') === 'durable' ? [true] : option('--mode') === 'memory' ? [false] : [true, false]
const profile = flag('--profile')
const skipInProcess = flag('--skip-inprocess')
const steadySeconds = Number(option('--steady-seconds') ?? (quick ? 20 : 300))
if (!Number.isFinite(steadySeconds) || steadySeconds <= 0) {
  console.error(`--steady-seconds needs a positive number of seconds, not ${option('--steady-seconds')}`)
  process.exit(2)
}
if (compare !== undefined && compare !== 'zookeeper') {
  console.error(`--compare supports only "zookeeper", not ${compare}`)
  process.exit(2)
}

/** Sizes of the full run and of --quick (which keeps every workload, with fewer operations). */
const size = quick
  ? { repeats: 2, write1: 300, writeN: 2500, createSeq: 2500, reads: 200_000, syncReads: 4000, watchers: 10_000, watchRounds: 2, failoverRounds: 2, memory: [20_000], fivePeerOps: 2500 }
  : { repeats: 3, write1: 2000, writeN: 20_000, createSeq: 20_000, reads: 2_000_000, syncReads: 30_000, watchers: 10_000, watchRounds: 5, failoverRounds: 5, memory: [100_000, 1_000_000], fivePeerOps: 20_000 }
const VALUE_BYTES = 100
const KEYS = 1024

// ---------------------------------------------------------------------------------------------
// Results

type System = 'zkpeer' | 'zookeeper'
type Workload = 'write-1-follower' | 'write-1-leader' | 'write-16' | 'write-64' | 'write-256' | 'create-seq-64' |
  'read-local' | 'read-sync' | 'watch-fanout' | 'failover' | 'memory-per-znode' | 'recovery-1m' | 'write-64-5peers' | 'steady'

/** One row of results.json. */
interface Row {
  system: System
  workload: Workload
  durable: boolean
  /** Which figure of the workload, where it has several (e.g. failover: writes-resume, restart-caught-up). */
  metric?: string
  opsPerSec?: number
  opsPerSecMin?: number
  opsPerSecMax?: number
  p50Ms?: number
  p99Ms?: number
  p999Ms?: number
  value?: number
  min?: number
  max?: number
  /** Figures over time, where the workload samples them (steady: writes/s per interval). */
  series?: number[]
  unit?: string
  ops?: number
  repeats?: number
  znodes?: number
  errors?: number
  loadAvg1: number
  detail: string
}

interface Extra { readonly section: string, readonly workload: string, readonly value: number, readonly unit: string, readonly detail: string, readonly loadAvg1: number }

const rows: Row[] = []
const extras: Extra[] = []
const notes: string[] = []
const startedAt = Date.now()
const load1 = (): number => Math.round(os.loadavg()[0]! * 100) / 100

function progress (text: string): void {
  const t = ((Date.now() - startedAt) / 1000).toFixed(0).padStart(4)
  process.stderr.write(`[${t}s load ${load1().toFixed(2)}] ${text}\n`)
}

function want (w: Workload): boolean {
  return only === undefined || only.includes(w)
}

// ---------------------------------------------------------------------------------------------
// Cleanup: everything started is registered here and stopped on exit paths.

const running = new Set<{ stop (): Promise<void> }>()
let stopping = false
async function stopAll (): Promise<void> {
  const all = [...running]
  running.clear()
  await Promise.allSettled(all.map((r) => r.stop()))
}
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (stopping) return
    stopping = true
    process.stderr.write(`\n${sig}: stopping every process the suite started…\n`)
    void stopAll().finally(() => process.exit(130))
  })
}

// ---------------------------------------------------------------------------------------------
// Targets: the same workload code drives a zkpeer cluster or a ZooKeeper ensemble.

interface Target {
  readonly system: System
  readonly durable: boolean
  readonly ids: string[]
  /** The load-generator process attached to node `id` (zkpeer: the peer itself). */
  gen (id: string): PeerProcess
  leader (): Promise<string>
  /** Applied/processed zxid of node `id`, or undefined when it does not answer. */
  zxid (id: string): Promise<number | undefined>
  kill (id: string): Promise<void>
  /** Starts node `id` again; resolves once it serves (its generator is connected again). */
  restart (id: string): Promise<void>
  memory (id: string): Promise<{ rss: number, heap?: number }>
  /** Process ids of the nodes (servers) now running, and of their load generators. */
  pids (): number[]
  profileStart (): Promise<void>
  profileStop (label: string): Promise<string[]>
  stop (): Promise<void>
}

async function zkpeerTarget (peers: number, durable: boolean): Promise<Target> {
  const cluster = await Cluster.start({ size: peers, durable, execArgv: ['--expose-gc'], sessionTimeoutMs: 10_000 })
  const stopper = { stop: () => cluster.stop() }
  running.add(stopper)
  const ids = [...cluster.peers.keys()]
  await Promise.all(ids.map((id) => cluster.peer(id).request({ cmd: 'connect' })))
  const status = (id: string): Promise<{ zxid: number, commitIndex: number } | undefined> =>
    cluster.peer(id).request<{ zxid: number, commitIndex: number }>({ cmd: 'status' }, 2000).catch(() => undefined)
  return {
    system: 'zkpeer',
    durable,
    ids,
    gen: (id) => cluster.peer(id),
    leader: () => cluster.leader(30_000, ids.filter((id) => cluster.peer(id).alive)),
    zxid: async (id) => cluster.peers.get(id)?.alive === true ? (await status(id))?.zxid : undefined,
    kill: (id) => cluster.peer(id).kill(),
    restart: async (id) => {
      const p = await cluster.startPeer(id)
      await p.request({ cmd: 'ready' }, quick ? 30_000 : 120_000)
      await p.request({ cmd: 'connect' })
    },
    memory: async (id) => {
      const m = await cluster.peer(id).request<NodeJS.MemoryUsage>({ cmd: 'memory' })
      return { rss: m.rss, heap: m.heapUsed + m.arrayBuffers }
    },
    pids: () => ids.flatMap((id) => cluster.peers.get(id)?.pid ?? []),
    profileStart: async () => { await Promise.all(ids.map((id) => cluster.peer(id).request({ cmd: 'profile', action: 'start' }))) },
    profileStop: async (label) => {
      const dir = join(outDir, 'profiles')
      mkdirSync(dir, { recursive: true })
      const files = ids.map((id) => join(dir, `${label}-${id}.cpuprofile`))
      await Promise.all(ids.map((id, i) => cluster.peer(id).request({ cmd: 'profile', action: 'stop', file: files[i] })))
      return files
    },
    stop: async () => { running.delete(stopper); await cluster.stop() },
  }
}

const zkClientScript = fileURLToPath(new URL('./zk-client-child.js', import.meta.url))

async function zookeeperTarget (install: ZooKeeperInstall, servers: number, durable: boolean): Promise<Target> {
  const ens = await ZkEnsemble.start({ install, size: servers, durable })
  const gens = new Map<string, PeerProcess>()
  const stopper = { stop: async () => { await Promise.allSettled([...gens.values()].map((g) => g.kill())); await ens.stop() } }
  running.add(stopper)
  const ids = ens.servers.map((s) => String(s.n))
  const startGen = async (id: string): Promise<void> => {
    const g = new PeerProcess({ id, listen: ens.address(Number(id)), ensemble: {} }, { script: zkClientScript })
    gens.set(id, g)
    await g.request({ cmd: 'start', options: g.options })
    await g.request({ cmd: 'connect' }, 60_000)
  }
  try {
    await Promise.all(ids.map(startGen))
  } catch (err) {
    await stopper.stop()
    running.delete(stopper)
    throw err
  }
  return {
    system: 'zookeeper',
    durable,
    ids,
    gen: (id) => { const g = gens.get(id); if (g === undefined) throw new Error(`no generator ${id}`); return g },
    leader: async () => String(await ens.leader()),
    zxid: async (id) => ens.server(Number(id)).proc === undefined ? undefined : (await srvr(ens.server(Number(id)).clientPort))?.zxid,
    kill: async (id) => {
      // The server first (the caller timed the kill just before), then the app process that
      // was its client: a zkpeer peer takes its app with it too.
      await ens.kill(Number(id))
      await gens.get(id)?.kill()
      gens.delete(id)
    },
    restart: async (id) => {
      ens.restart(Number(id))
      await ens.waitServing([Number(id)], 120_000)
      await startGen(id)
    },
    memory: async (id) => ens.memory(Number(id)),
    pids: () => [...ens.servers.flatMap((s) => s.proc?.pid ?? []), ...[...gens.values()].flatMap((g) => g.pid ?? [])],
    profileStart: async () => {},
    profileStop: async () => [],
    stop: async () => { running.delete(stopper); await stopper.stop() },
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

function pct (sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
}
const r3 = (x: number): number => Math.round(x * 1000) / 1000
const median = (xs: readonly number[]): number => { const s = [...xs].sort((a, b) => a - b); return s[(s.length - 1) >> 1]! }
const fmt = (x: number | undefined, digits = 0): string => x === undefined ? '' : x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })

/** Splits `total` into `parts` near-equal integers (the first ones get the remainder). */
function split (total: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0))
}

/** Waits until every live node's zxid has reached the leader's. */
async function caughtUp (t: Target, ids: readonly string[], timeoutMs = 120_000): Promise<void> {
  const leader = await t.leader()
  const target = await t.zxid(leader) ?? 0
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const z = await Promise.all(ids.map((id) => t.zxid(id)))
    if (z.every((x) => x !== undefined && x >= target)) return
    if (Date.now() > deadline) throw new Error(`nodes ${ids.join(',')} not caught up with zxid ${target}`)
    await sleep(20)
  }
}

/**
 * Runs `ops` operations of `workload` with `inFlight` in flight, spread over `ids` (in flight
 * and operations split evenly), `repeats` times. Throughput per repeat = all operations / (last
 * end − first start) across the generators; latencies pooled over all repeats.
 */
async function measure (t: Target, spec: { workload: 'write' | 'create-seq' | 'read' | 'sync-read', ids: readonly string[], ops: number, inFlight: number, path: string, sampleEvery?: number, repeats?: number }): Promise<Omit<Row, 'system' | 'workload' | 'durable' | 'detail' | 'loadAvg1'> & { seconds: number }> {
  const repeats = spec.repeats ?? size.repeats
  const rates: number[] = []
  const lat: Float64Array[] = []
  let errors = 0
  let firstError: string | undefined
  let seconds = 0
  const flights = split(spec.inFlight, spec.ids.length)
  for (let r = 0; r < repeats; r++) {
    const active = spec.ids.map((id, i) => ({ id, inFlight: flights[i]! })).filter((x) => x.inFlight > 0)
    const ops = split(spec.ops, active.length)
    const reports = await Promise.all(active.map((a, i) => t.gen(a.id).request<GenBenchReport>({
      cmd: 'gen',
      op: { kind: 'bench', workload: spec.workload, path: spec.path, ops: ops[i]!, inFlight: a.inFlight, bytes: VALUE_BYTES, keys: KEYS, sampleEvery: spec.sampleEvery ?? 1 },
    }, 600_000)))
    const start = Math.min(...reports.map((x) => x.startMs))
    const end = Math.max(...reports.map((x) => x.endMs))
    rates.push(spec.ops / ((end - start) / 1000))
    seconds += (end - start) / 1000
    for (const x of reports) {
      lat.push(x.latencies)
      errors += x.errors
      firstError ??= x.firstError
    }
  }
  const all = new Float64Array(lat.reduce((n, l) => n + l.length, 0))
  let o = 0
  for (const l of lat) { all.set(l, o); o += l.length }
  all.sort()
  if (firstError !== undefined) notes.push(`${t.system} ${spec.workload}: ${errors} errors, first: ${firstError}`)
  return {
    opsPerSec: Math.round(median(rates)),
    opsPerSecMin: Math.round(Math.min(...rates)),
    opsPerSecMax: Math.round(Math.max(...rates)),
    p50Ms: r3(pct(all, 0.5)),
    p99Ms: r3(pct(all, 0.99)),
    p999Ms: r3(pct(all, 0.999)),
    ops: spec.ops * repeats,
    repeats,
    errors,
    seconds,
  }
}

async function prepare (t: Target, path: string): Promise<void> {
  const leader = await t.leader()
  await t.gen(leader).request({ cmd: 'gen', op: { kind: 'prepare', path, keys: KEYS, bytes: VALUE_BYTES } }, 120_000)
  await caughtUp(t, t.ids)
}

function push (t: Target, workload: Workload, row: Omit<Row, 'system' | 'workload' | 'durable' | 'loadAvg1'>): void {
  const full: Row = { system: t.system, workload, durable: t.durable, ...row, loadAvg1: load1() }
  rows.push(full)
  const what = full.opsPerSec !== undefined
    ? `${fmt(full.opsPerSec)}/s (${fmt(full.opsPerSecMin)}–${fmt(full.opsPerSecMax)}) p50 ${fmt(full.p50Ms, 2)} p99 ${fmt(full.p99Ms, 2)} p99.9 ${fmt(full.p999Ms, 2)} ms`
    : `${fmt(full.value, 1)} ${full.unit ?? ''}${full.min === undefined ? '' : ` (${fmt(full.min, 1)}–${fmt(full.max, 1)})`}`
  progress(`${t.system} ${t.durable ? 'durable' : 'in-memory'} ${workload}${full.metric === undefined ? '' : ` ${full.metric}`}: ${what}`)
}

// ---------------------------------------------------------------------------------------------
// Workloads

async function profiled<T> (t: Target, label: string, fn: () => Promise<T>): Promise<T> {
  if (!profile || t.system !== 'zkpeer') return fn()
  await t.profileStart()
  try {
    return await fn()
  } finally {
    const files = await t.profileStop(`${label}-${t.durable ? 'durable' : 'memory'}`)
    for (const f of files) notes.push(`profile ${f}:\n${summarizeProfile(f, 12)}`)
  }
}

async function throughputWorkloads (t: Target): Promise<void> {
  const path = '/bench-w'
  await prepare(t, path)
  const leader = await t.leader()
  const follower = t.ids.find((id) => id !== leader)!
  const perOp = (n: number, inFlight: number, where: string): string => `setData of ${VALUE_BYTES} B on ${KEYS} keys, ${inFlight} in flight ${where}; ${fmt(n)} ops × ${size.repeats} repeats`
  if (want('write-1-follower')) {
    const m = await profiled(t, 'write-1-follower', () => measure(t, { workload: 'write', ids: [follower], ops: size.write1, inFlight: 1, path }))
    push(t, 'write-1-follower', { ...m, detail: perOp(size.write1, 1, 'from a follower') })
  }
  if (want('write-1-leader')) {
    const m = await measure(t, { workload: 'write', ids: [leader], ops: size.write1, inFlight: 1, path })
    push(t, 'write-1-leader', { ...m, detail: perOp(size.write1, 1, 'on the leader') })
  }
  for (const n of [16, 64, 256] as const) {
    const w = `write-${n}` as Workload
    if (!want(w)) continue
    const m = await profiled(t, w, () => measure(t, { workload: 'write', ids: t.ids, ops: size.writeN, inFlight: n, path }))
    push(t, w, { ...m, detail: perOp(size.writeN, n, `spread over ${t.ids.length} nodes`) })
  }
  if (want('create-seq-64')) {
    await t.gen(leader).request({ cmd: 'gen', op: { kind: 'prepare', path: '/bench-seq', keys: 0, bytes: 0 } })
    await caughtUp(t, t.ids)
    const m = await profiled(t, 'create-seq-64', () => measure(t, { workload: 'create-seq', ids: t.ids, ops: size.createSeq, inFlight: 64, path: '/bench-seq' }))
    push(t, 'create-seq-64', { ...m, detail: `PERSISTENT_SEQUENTIAL creates of ${VALUE_BYTES} B under one parent, 64 in flight spread over ${t.ids.length} nodes; ${fmt(size.createSeq)} ops × ${size.repeats} repeats` })
  }
  if (want('read-local')) {
    const m = await profiled(t, 'read-local', () => measure(t, { workload: 'read', ids: [follower], ops: size.reads, inFlight: 64, path, sampleEvery: 16 }))
    push(t, 'read-local', { ...m, detail: `getData of ${VALUE_BYTES} B on ${KEYS} keys in one ${t.system === 'zkpeer' ? 'peer (in-process)' : 'client connected to one server'}, 64 in flight; ${fmt(size.reads)} ops × ${size.repeats} repeats; latency of every 16th op` })
  }
  if (want('read-sync')) {
    const m = await measure(t, { workload: 'sync-read', ids: [follower], ops: size.syncReads, inFlight: 64, path })
    push(t, 'read-sync', { ...m, detail: `sync(path) then getData, on a follower, 64 in flight; ${fmt(size.syncReads)} ops × ${size.repeats} repeats` })
  }
}

async function watchFanout (t: Target): Promise<void> {
  if (!want('watch-fanout')) return
  const path = '/bench-watch'
  const leader = await t.leader()
  await t.gen(leader).request({ cmd: 'gen', op: { kind: 'prepare', path, keys: 0, bytes: 0 } })
  await caughtUp(t, t.ids)
  const sessionsPerNode = 10
  const perSession = Math.ceil(size.watchers / (sessionsPerNode * t.ids.length))
  const times: number[] = []
  let total = 0
  for (let r = 0; r < size.watchRounds; r++) {
    await Promise.all(t.ids.map((id) => t.gen(id).request({ cmd: 'gen', op: { kind: 'watchers', path, sessions: sessionsPerNode, perSession } }, 120_000)))
    const w = await t.gen(leader).request<{ startMs: number, ackMs: number }>({ cmd: 'gen', op: { kind: 'writeOnce', path, bytes: VALUE_BYTES } })
    const got = await Promise.all(t.ids.map((id) => t.gen(id).request<{ fired: number, expected: number, lastAtMs: number }>({ cmd: 'gen', op: { kind: 'watchWait', timeoutMs: 30_000 } }, 60_000)))
    const fired = got.reduce((n, g) => n + g.fired, 0)
    total = got.reduce((n, g) => n + g.expected, 0)
    if (fired !== total) notes.push(`${t.system} watch-fanout round ${r}: only ${fired} of ${total} watchers notified within 30 s`)
    times.push(Math.max(...got.map((g) => g.lastAtMs)) - w.startMs)
  }
  push(t, 'watch-fanout', {
    value: r3(median(times)), min: r3(Math.min(...times)), max: r3(Math.max(...times)), unit: 'ms', repeats: times.length,
    detail: `time from setData issued (leader node) to the last of ${fmt(total)} one-shot data watches notified (${sessionsPerNode} sessions per node × ${t.ids.length} nodes × ${perSession} watchers each); median (min–max) of ${times.length} rounds`,
  })
}

async function failover (t: Target): Promise<void> {
  if (!want('failover')) return
  const path = '/bench-w'
  await prepare(t, path)
  const resume: number[] = []
  const catchUp: number[] = []
  const perNode = 8
  for (let r = 0; r < size.failoverRounds; r++) {
    await Promise.all(t.ids.map((id) => t.gen(id).request({ cmd: 'gen', op: { kind: 'timedLoadStart', path, inFlight: perNode, bytes: VALUE_BYTES, keys: KEYS } })))
    await sleep(1000)
    const leader = await t.leader()
    const survivors = t.ids.filter((id) => id !== leader)
    const killedAt = performance.timeOrigin + performance.now()
    await t.kill(leader)
    const deadline = Date.now() + 60_000
    let first: number | undefined
    while (first === undefined && Date.now() < deadline) {
      await sleep(10)
      const acks = await Promise.all(survivors.map((id) => t.gen(id).request<number | null>({ cmd: 'gen', op: { kind: 'firstAckAfter', atMs: killedAt } }, 5000).catch(() => null)))
      const ok = acks.filter((a): a is number => a !== null)
      if (ok.length > 0) first = Math.min(...ok)
    }
    if (first === undefined) throw new Error(`${t.system}: no write succeeded within 60 s of killing the leader`)
    resume.push(first - killedAt)
    // The killed node restarts while the survivors keep writing; caught up = its zxid reaches
    // the leader's zxid sampled when the restart began.
    const newLeader = await t.leader()
    const targetZxid = await t.zxid(newLeader) ?? 0
    const t0 = performance.now()
    await t.restart(leader)
    for (;;) {
      const z = await t.zxid(leader)
      if (z !== undefined && z >= targetZxid) break
      await sleep(5)
    }
    catchUp.push(performance.now() - t0)
    await Promise.all(survivors.map((id) => t.gen(id).request({ cmd: 'gen', op: { kind: 'timedLoadStop' } }, 30_000)))
    await t.leader()
    await caughtUp(t, t.ids)
    progress(`${t.system} ${t.durable ? 'durable' : 'in-memory'} failover round ${r + 1}: writes resumed after ${resume[r]!.toFixed(0)} ms, restarted peer caught up in ${catchUp[r]!.toFixed(0)} ms`)
  }
  push(t, 'failover', {
    metric: 'writes-resume', value: r3(median(resume)), min: r3(Math.min(...resume)), max: r3(Math.max(...resume)), unit: 'ms', repeats: resume.length,
    detail: `kill -9 of the leader under write load (${perNode} setData in flight per node); time from the kill until the first acknowledgement of a write issued after it (a probe issues one every 5 ms on each surviving node); median (min–max) of ${resume.length} rounds`,
  })
  push(t, 'failover', {
    metric: 'restart-caught-up', value: r3(median(catchUp)), min: r3(Math.min(...catchUp)), max: r3(Math.max(...catchUp)), unit: 'ms', repeats: catchUp.length,
    detail: `restart of the killed ${t.system === 'zkpeer' ? 'peer process' : 'server JVM'} (writes continuing) until its zxid reaches the leader's at restart time; process start included; median (min–max) of ${catchUp.length} rounds`,
  })
}

/** Writes in flight per node during `steady`: enough to keep the ensemble saturated. */
const STEADY_IN_FLIGHT_PER_NODE = 64

/**
 * Full write load for `steadySeconds`, sampling throughput and every peer's term and leader
 * each interval; the peers' 'leader' events are counted as they happen. Any term increase or
 * leader change is a spurious election (nothing failed), reported as such.
 */
async function steady (t: Target): Promise<void> {
  if (!want('steady') || t.system !== 'zkpeer') return
  const path = '/bench-w'
  await prepare(t, path)
  const consensus = async (): Promise<Array<{ term: number, leader?: string }>> =>
    await Promise.all(t.ids.map((id) => t.gen(id).request<{ term: number, leader?: string }>({ cmd: 'status' }, 30_000)))
  const before = await consensus()
  const termBefore = Math.max(...before.map((s) => s.term))
  const leaderBefore = await t.leader()
  // A peer's leader going undefined and coming back the same is a lost leader but no change
  // (e.g. a follower whose event loop stalled past its election timeout, refused at pre-vote).
  let leaderChanges = 0
  let leaderLosses = 0
  const followed = new Map(t.ids.map((id, i) => [id, before[i]!.leader ?? leaderBefore]))
  const listeners = t.ids.map((id) => (m: { leader?: string }): void => {
    if (m.leader === undefined) {
      leaderLosses++
      return
    }
    if (m.leader !== followed.get(id)) leaderChanges++
    followed.set(id, m.leader)
  })
  t.ids.forEach((id, i) => t.gen(id).on('leader', listeners[i]!))
  const intervalMs = Math.min(10_000, Math.max(1000, steadySeconds * 100))
  const series: number[] = []
  let maxTerm = termBefore
  let leaderSeen = new Set<string>([leaderBefore])
  let errors = 0
  const errorCodes: Record<string, number> = {}
  try {
    await Promise.all(t.ids.map((id) => t.gen(id).request({ cmd: 'gen', op: { kind: 'timedLoadStart', path, inFlight: STEADY_IN_FLIGHT_PER_NODE, bytes: VALUE_BYTES, keys: KEYS } })))
    const count = async (): Promise<number> => {
      const c = await Promise.all(t.ids.map((id) => t.gen(id).request<{ acks: number, errors: number }>({ cmd: 'gen', op: { kind: 'timedLoadCount' } }, 30_000)))
      errors = c.reduce((n, x) => n + x.errors, 0)
      return c.reduce((n, x) => n + x.acks, 0)
    }
    const t0 = performance.now()
    let last = { at: t0, acks: await count() }
    while (performance.now() - t0 < steadySeconds * 1000) {
      await sleep(Math.min(intervalMs, steadySeconds * 1000 - (performance.now() - t0)))
      const acks = await count()
      const now = performance.now()
      series.push(Math.round((acks - last.acks) / ((now - last.at) / 1000)))
      last = { at: now, acks }
      const st = await consensus()
      maxTerm = Math.max(maxTerm, ...st.map((s) => s.term))
      leaderSeen = new Set([...leaderSeen, ...st.flatMap((s) => s.leader === undefined ? [] : [s.leader])])
      progress(`${t.system} ${t.durable ? 'durable' : 'in-memory'} steady ${((now - t0) / 1000).toFixed(0)} s: ${fmt(series.at(-1))} writes/s; term ${maxTerm - termBefore > 0 ? `+${maxTerm - termBefore}` : 'unchanged'}, ${leaderChanges} leader changes, ${leaderLosses} leaders lost, ${errors} write errors`)
    }
  } finally {
    t.ids.forEach((id, i) => t.gen(id).off('leader', listeners[i]!))
    const stopped = await Promise.all(t.ids.map((id) => t.gen(id).request<{ errors: Record<string, number> }>({ cmd: 'gen', op: { kind: 'timedLoadStop' } }, 30_000)))
    for (const [i, r] of stopped.entries()) {
      for (const [code, n] of Object.entries(r.errors)) errorCodes[`${t.ids[i]!}:${code}`] = n
    }
  }
  const after = await consensus()
  maxTerm = Math.max(maxTerm, ...after.map((s) => s.term))
  const sorted = [...series].sort((a, b) => a - b)
  const load = `${fmt(steadySeconds)} s of full write load (${STEADY_IN_FLIGHT_PER_NODE} setData in flight per node)`
  push(t, 'steady', {
    metric: 'term-increases', value: maxTerm - termBefore, unit: 'terms', repeats: 1,
    detail: `${load}: terms gained by any peer (must be 0); leaders seen: ${[...leaderSeen].join(', ')}; ${errors} write errors${errors === 0 ? '' : ` (node:code counts ${JSON.stringify(errorCodes)})`}`,
  })
  push(t, 'steady', {
    metric: 'leader-changes', value: leaderChanges, unit: 'changes', repeats: 1,
    detail: `${load}: times a peer started following another leader than before (must be 0); besides, a peer lost its leader ${leaderLosses} times and found the same one again (it stopped hearing the leader, stalled past its election timeout or told its connection closed, and was refused at pre-vote: no election)`,
  })
  push(t, 'steady', {
    metric: 'throughput', opsPerSec: median(series), opsPerSecMin: sorted[0], opsPerSecMax: sorted.at(-1), series, repeats: 1,
    detail: `writes/s per ${fmt(intervalMs / 1000)} s interval over ${fmt(steadySeconds)} s: median (min–max); the series is in results.json`,
  })
}

/**
 * A process's memory once it is idle and background work has settled: a peer may still be
 * encoding a snapshot in steps when it has caught up (its output briefly holds some 140 B per
 * znode), a JVM may still be collecting. Readings (each after a full GC) 1 s
 * apart, at least {@link IDLE_READINGS} of them, until two agree within 2% (at most 15); the last one.
 */
async function settledMemory (t: Target, id: string): Promise<{ rss: number, heap?: number, readings: number }> {
  let last = await t.memory(id)
  for (let readings = 2; ; readings++) {
    await sleep(1000)
    const m = await t.memory(id)
    if ((readings >= IDLE_READINGS && Math.abs(m.rss - last.rss) <= 0.02 * last.rss) || readings === 15) return { ...m, readings }
    last = m
  }
}

/**
 * V8 grows its young generation under load (to 32 MB, whatever the load built: a fixed cost,
 * not a per-znode one) and gives it back at the first collection that finds the allocation rate
 * of about the last 5 s, as sampled at collections, low — in an idle process on its own, at its
 * next scavenge. Readings 1 s apart reach that after 7 (the first one still samples the load);
 * stopping at the first two that agree would read the load's young generation right after a
 * bulk load and not after an idle start, which made the figure at 100,000 znodes swing by
 * some 300 B/znode with what the process had done before its baseline.
 */
const IDLE_READINGS = 8

/**
 * Waits until the target's processes together use under a tenth of a core over half a second
 * (at most a minute); says how it ended. Linux only (CPU times from /proc): elsewhere it does not wait.
 */
async function quiet (t: Target): Promise<string> {
  const ticks = (): number | undefined => {
    let sum = 0
    for (const pid of t.pids()) {
      try {
        // utime and stime: fields 14 and 15, counted after the parenthesised command name.
        const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
        sum += Number(fields[11]) + Number(fields[12])
      } catch {
        return undefined
      }
    }
    return sum
  }
  const hz = 100 // USER_HZ: clock ticks per second in /proc, 100 on Linux
  const t0 = performance.now()
  let before = ticks()
  if (before === undefined) return 'not checked: no /proc'
  while (performance.now() - t0 < 60_000) {
    await sleep(500)
    const now = ticks()
    if (now === undefined) return 'not checked: no /proc'
    const cores = (now - before) / hz / 0.5
    before = now
    if (cores < 0.1) return `idle after ${fmt(performance.now() - t0)} ms`
  }
  return 'still busy after 60 s'
}

async function memoryAndRecovery (t: Target): Promise<void> {
  if (!want('memory-per-znode') && !want('recovery-1m')) return
  const leader = await t.leader()
  const follower = t.ids.find((id) => id !== leader)!
  await caughtUp(t, t.ids)
  const base = await settledMemory(t, follower)
  let have = 0
  for (const n of size.memory) {
    const p = await t.gen(leader).request<{ seconds: number }>({ cmd: 'gen', op: { kind: 'populate', parent: '/bench-mem', from: have, count: n - have, bytes: VALUE_BYTES, batch: 500, inFlight: 4 } }, 1_800_000)
    progress(`${t.system} ${t.durable ? 'durable' : 'in-memory'}: populated ${fmt(n)} znodes (${fmt((n - have) / p.seconds)}/s, multi of 500)`)
    have = n
    await caughtUp(t, t.ids, 600_000)
    const m = await settledMemory(t, follower)
    const rssPer = (m.rss - base.rss) / n
    const heapPer = m.heap !== undefined && base.heap !== undefined ? (m.heap - base.heap) / n : undefined
    if (want('memory-per-znode')) {
      push(t, 'memory-per-znode', {
        value: Math.round(rssPer), unit: 'B/znode', znodes: n,
        detail: `resident memory (rss) growth of a follower ${t.system === 'zkpeer' ? 'peer process (each reading after a full GC, once the process is idle: V8 gives back the young generation it grew under load once its sampled allocation rate is low)' : 'server JVM (default heap settings)'} over its baseline, / ${fmt(n)} znodes of ${VALUE_BYTES} B, read once idle and background work settled (readings 1 s apart, at least ${IDLE_READINGS}, until two agree within 2%: ${m.readings} readings)` +
          (heapPer === undefined ? '' : `; ${t.system === 'zkpeer' ? 'JS heap + array buffers' : 'Java heap in use'} after full GC grew ${fmt(heapPer)} B/znode`),
      })
    }
  }
  if (!want('recovery-1m')) return
  // Recovery: kill -9 a follower holding all the znodes, restart it, time until it serves and
  // has applied everything (durable: from its own disk; in-memory: from the leader). Only once
  // every process is idle: on one shared machine, a snapshot the others are still encoding in
  // the background would be timed as the restarted peer's.
  const target = await t.zxid(leader) ?? 0
  const idle = await quiet(t)
  await t.kill(follower)
  const t0 = performance.now()
  await t.restart(follower)
  const serving = performance.now() - t0
  for (;;) {
    const z = await t.zxid(follower)
    if (z !== undefined && z >= target) break
    await sleep(5)
  }
  const ms = performance.now() - t0
  push(t, 'recovery-1m', {
    value: Math.round(ms), unit: 'ms', znodes: have,
    detail: `kill -9 of a follower holding ${fmt(have)} znodes of ${VALUE_BYTES} B, restart (process start included) until it serves (${fmt(serving)} ms) and has applied everything; ${t.durable ? 'from its own dataDir' : 'state transferred from the leader (nothing on disk)'}; killed once every process was idle (${idle}); one run`,
  })
}

async function fivePeers (make: (n: number) => Promise<Target>, durable: boolean): Promise<void> {
  if (!want('write-64-5peers')) return
  const t = await make(5)
  try {
    await prepare(t, '/bench-w')
    const m = await measure(t, { workload: 'write', ids: t.ids, ops: size.fivePeerOps, inFlight: 64, path: '/bench-w' })
    push(t, 'write-64-5peers', { ...m, detail: `setData of ${VALUE_BYTES} B, 64 in flight spread over 5 nodes; ${fmt(size.fivePeerOps)} ops × ${size.repeats} repeats (${durable ? 'durable' : 'in-memory'})` })
  } finally {
    await t.stop()
  }
}

async function runSystem (make: (n: number, durable: boolean) => Promise<Target>, system: System): Promise<void> {
  for (const durable of modes) {
    progress(`${system} ${durable ? 'durable' : 'in-memory'}: starting a 3-node ensemble`)
    const t = await make(3, durable)
    try {
      for (const [name, step] of [['throughput', throughputWorkloads], ['watch-fanout', watchFanout], ['failover', failover], ['memory/recovery', memoryAndRecovery], ['steady', steady]] as const) {
        try {
          await step(t)
        } catch (err) {
          // One failed workload must not lose the others: note it and go on.
          const text = `${system} ${durable ? 'durable' : 'in-memory'} ${name} failed: ${err instanceof Error ? err.message : String(err)}`
          notes.push(text)
          progress(text)
          if (stopping) throw err
        }
      }
    } finally {
      await t.stop()
    }
    await fivePeers((n) => make(n, durable), durable).catch((err: unknown) => {
      const text = `${system} ${durable ? 'durable' : 'in-memory'} write-64-5peers failed: ${err instanceof Error ? err.message : String(err)}`
      notes.push(text)
      progress(text)
    })
  }
}

// ---------------------------------------------------------------------------------------------
// Report

const labels: Record<Workload, string> = {
  'write-1-follower': 'write latency, 1 in flight, follower',
  'write-1-leader': 'write latency, 1 in flight, leader',
  'write-16': 'write throughput, 16 in flight',
  'write-64': 'write throughput, 64 in flight',
  'write-256': 'write throughput, 256 in flight',
  'create-seq-64': 'sequential create, 64 in flight',
  'read-local': 'local reads (getData), one node',
  'read-sync': 'sync + getData, one node',
  'watch-fanout': 'watch fan-out, write → last notification',
  failover: 'leader kill -9',
  'memory-per-znode': 'memory per znode',
  'recovery-1m': 'recovery of a restarted peer',
  'write-64-5peers': 'write throughput, 64 in flight, 5 nodes',
  steady: 'steady full write load',
}

const key = (r: Row): string => `${r.workload}|${r.durable}|${r.metric ?? ''}|${r.znodes ?? ''}`
const figure = (r: Row): number | undefined => r.opsPerSec ?? r.value
const mode = (r: Row): string => r.durable ? 'durable' : 'in-memory'

function machine (): Record<string, unknown> {
  return {
    cpus: os.cpus().length, cpu: os.cpus()[0]?.model, memoryGB: Math.round(os.totalmem() / 2 ** 30), node: process.version,
    os: `${os.type()} ${os.release()}`, loadAvgAtStart, loadAvgAtEnd: os.loadavg().map((x) => Math.round(x * 100) / 100),
    quick, startedAt: new Date(startedAt).toISOString(), seconds: Math.round((Date.now() - startedAt) / 1000),
    zookeeper: zkInstall?.version,
  }
}

function targets (): string[] {
  const lines: string[] = []
  const get = (system: System, w: Workload, durable: boolean, metric?: string): Row | undefined =>
    rows.filter((r) => r.system === system && r.workload === w && r.durable === durable && (metric === undefined || r.metric === metric)).at(-1)
  const verdict = (ok: boolean | undefined): string => ok === undefined ? 'not measured' : ok ? '**met**' : '**missed**'
  const zp64 = get('zkpeer', 'write-64', true)
  const zk64 = get('zookeeper', 'write-64', true)
  lines.push(`| write-64 durable ≥ 3× ZooKeeper's throughput | ${fmt(zp64?.opsPerSec)}/s vs ${fmt(zk64?.opsPerSec)}/s = ${zp64?.opsPerSec !== undefined && zk64?.opsPerSec !== undefined ? (zp64.opsPerSec / zk64.opsPerSec).toFixed(2) + '×' : 'n/a'} | ${verdict(zp64 && zk64 ? zp64.opsPerSec! >= 3 * zk64.opsPerSec! : undefined)} |`)
  lines.push(`| write-64 durable p99 ≤ ZooKeeper's | ${fmt(zp64?.p99Ms, 2)} ms vs ${fmt(zk64?.p99Ms, 2)} ms | ${verdict(zp64 && zk64 ? zp64.p99Ms! <= zk64.p99Ms! : undefined)} |`)
  for (const w of ['write-1-follower', 'write-1-leader'] as const) {
    const a = get('zkpeer', w, true)
    const b = get('zookeeper', w, true)
    lines.push(`| ${w} durable p50 ≤ 0.7× ZooKeeper's | ${fmt(a?.p50Ms, 3)} ms vs ${fmt(b?.p50Ms, 3)} ms = ${a && b ? (a.p50Ms! / b.p50Ms!).toFixed(2) + '×' : 'n/a'} | ${verdict(a && b ? a.p50Ms! <= 0.7 * b.p50Ms! : undefined)} |`)
  }
  for (const durable of [true, false]) {
    const rl = get('zkpeer', 'read-local', durable)
    // A --quick repeat is some 60 ms of reads, most of it spent before the JIT has optimized them.
    if (rl !== undefined) lines.push(`| read-local ${durable ? 'durable' : 'in-memory'} ≥ 2,000,000/s | ${fmt(rl.opsPerSec)}/s | ${verdict(quick ? undefined : rl.opsPerSec! >= 2_000_000)}${quick ? ' (--quick reads too few to judge: run without it)' : ''} |`)
  }
  const fa = get('zkpeer', 'failover', true, 'writes-resume')
  const fb = get('zookeeper', 'failover', true, 'writes-resume')
  lines.push(`| failover median ≤ 0.5× ZooKeeper's | ${fmt(fa?.value)} ms (max ${fmt(fa?.max)}) vs ${fmt(fb?.value)} ms (max ${fmt(fb?.max)}) | ${verdict(fa && fb ? fa.value! <= 0.5 * fb.value! : undefined)} |`)
  for (const durable of [true, false]) {
    const terms = get('zkpeer', 'steady', durable, 'term-increases')
    const changes = get('zkpeer', 'steady', durable, 'leader-changes')
    if (terms === undefined || changes === undefined) continue
    lines.push(`| no spurious election under steady full write load (${durable ? 'durable' : 'in-memory'}, ${fmt(steadySeconds)} s) | ${fmt(terms.value)} terms gained, ${fmt(changes.value)} leader changes | ${verdict(terms.value === 0 && changes.value === 0)} |`)
  }
  for (const r of rows.filter((x) => x.system === 'zkpeer' && x.workload === 'memory-per-znode')) {
    // At --quick's 20,000 znodes, fixed costs (V8's young generation grows by up to 32 MB under a bulk load) outweigh the znodes.
    const judged = r.znodes! >= 100_000
    lines.push(`| memory ≤ 400 B/znode (${mode(r)}, ${fmt(r.znodes)} znodes) | ${fmt(r.value)} B (rss) | ${verdict(judged ? r.value! <= 400 : undefined)}${judged ? '' : ' (run without --quick for 100,000 and 1,000,000)'} |`)
  }
  for (const r of rows.filter((x) => x.system === 'zkpeer' && x.workload === 'recovery-1m')) {
    lines.push(`| recovery of 1,000,000 znodes ≤ 3 s (${mode(r)}, measured with ${fmt(r.znodes)}) | ${fmt(r.value)} ms | ${verdict(r.znodes! < 1_000_000 ? undefined : r.value! <= 3000)}${r.znodes! < 1_000_000 ? ' (run without --quick for 1,000,000)' : ''} |`)
  }
  return lines
}

function markdown (): string {
  const out: string[] = []
  const m = machine()
  out.push(`# zkpeer benchmark results${quick ? ' (--quick)' : ''}`, '')
  out.push(`${m.startedAt as string}; ${m.cpus as number} × ${m.cpu as string}, ${m.memoryGB as number} GB, Node ${process.version}, ${m.os as string}; load average at start ${loadAvgAtStart.join(' / ')}, at end ${(m.loadAvgAtEnd as number[]).join(' / ')} (shared machine: see the load column).${zkInstall === undefined ? '' : ` ZooKeeper ${zkInstall.version}.`}`, '')
  out.push('Throughput: median of the repeats (min–max); latency percentiles over all operations of all repeats (ms). Other figures: median (min–max) over rounds where there are rounds. 100-byte values; 3 nodes on loopback TCP unless said; load generated inside the node processes (zkpeer) or in one Node.js client process per server (ZooKeeper, node-zookeeper-client).', '')
  out.push('| system | workload | mode | ops/s (min–max) | p50 ms | p99 ms | p99.9 ms | value (min–max) | ops / rounds | load | what |')
  out.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |')
  for (const r of rows) {
    const name = `${r.workload}${r.metric === undefined ? '' : ` (${r.metric})`}${r.znodes === undefined ? '' : ` [${fmt(r.znodes)}]`}`
    out.push(`| ${r.system} | ${name} | ${mode(r)} | ${r.opsPerSec === undefined ? '' : `${fmt(r.opsPerSec)} (${fmt(r.opsPerSecMin)}–${fmt(r.opsPerSecMax)})`} | ${fmt(r.p50Ms, 3)} | ${fmt(r.p99Ms, 2)} | ${fmt(r.p999Ms, 2)} | ${r.value === undefined ? '' : `${fmt(r.value, r.value < 100 ? 1 : 0)} ${r.unit ?? ''}${r.min === undefined ? '' : ` (${fmt(r.min, 0)}–${fmt(r.max, 0)})`}`} | ${r.ops !== undefined ? fmt(r.ops) : r.repeats !== undefined ? `${r.repeats} rounds` : '1'}${r.errors ? `, ${r.errors} errors` : ''} | ${r.loadAvg1.toFixed(2)} | ${r.detail} |`)
  }
  if (rows.some((r) => r.system === 'zookeeper')) {
    out.push('', '## zkpeer beside ZooKeeper', '', 'Ratio = zkpeer ÷ ZooKeeper for throughput (higher is better for zkpeer) and for times, latencies and memory (lower is better for zkpeer).', '')
    out.push('| workload | mode | zkpeer | ZooKeeper | ratio | zkpeer p99 | ZooKeeper p99 |')
    out.push('| --- | --- | --- | --- | --- | --- | --- |')
    for (const a of rows.filter((r) => r.system === 'zkpeer')) {
      const b = rows.find((r) => r.system === 'zookeeper' && key(r) === key(a))
      if (b === undefined) continue
      const fa = figure(a)
      const fb = figure(b)
      const unit = a.opsPerSec !== undefined ? '/s' : ` ${a.unit ?? ''}`
      out.push(`| ${labels[a.workload]}${a.metric === undefined ? '' : ` (${a.metric})`}${a.znodes === undefined ? '' : ` [${fmt(a.znodes)}]`} | ${mode(a)} | ${fmt(fa)}${unit} | ${fmt(fb)}${unit} | ${fa !== undefined && fb ? (fa / fb).toFixed(2) + '×' : ''} | ${fmt(a.p99Ms, 2)} | ${fmt(b.p99Ms, 2)} |`)
    }
    if (rows.some((r) => r.workload === 'write-1-follower')) {
      out.push('', 'Latency ratios (p50, zkpeer ÷ ZooKeeper): ' + rows.filter((r) => r.system === 'zkpeer' && r.p50Ms !== undefined).flatMap((a) => {
        const b = rows.find((r) => r.system === 'zookeeper' && key(r) === key(a))
        return b?.p50Ms ? [`${a.workload} ${mode(a)} ${(a.p50Ms! / b.p50Ms).toFixed(2)}×`] : []
      }).join(', '))
    }
  }
  out.push('', '## Targets', '', '| target | measured | verdict |', '| --- | --- | --- |', ...targets())
  if (extras.length > 0) {
    out.push('', '## In-process figures', '', '| section | workload | value | what | load |', '| --- | --- | --- | --- | --- |')
    for (const e of extras) out.push(`| ${e.section} | ${e.workload} | ${fmt(e.value)} ${e.unit} | ${e.detail} | ${e.loadAvg1.toFixed(2)} |`)
  }
  if (notes.length > 0) out.push('', '## Notes', '', ...notes.map((n) => n.includes('\n') ? '```\n' + n + '\n```' : `- ${n}`))
  return out.join('\n') + '\n'
}

// ---------------------------------------------------------------------------------------------
// Main

const loadAvgAtStart = os.loadavg().map((x) => Math.round(x * 100) / 100)
let zkInstall: ZooKeeperInstall | undefined

async function main (): Promise<void> {
  mkdirSync(outDir, { recursive: true })
  if (compare === 'zookeeper') {
    zkInstall = findZooKeeper()
    if (zkInstall === undefined) {
      process.stderr.write(`${installHint}\nContinuing with zkpeer alone.\n\n`)
      notes.push('ZooKeeper comparison requested but ZooKeeper is not installed; see the install hint printed by the suite.')
    }
  }
  progress(`zkpeer benchmark suite${quick ? ' (--quick)' : ''}: ${os.cpus().length} cpus, load average ${loadAvgAtStart.join(' ')}`)
  await runSystem((n, durable) => zkpeerTarget(n, durable), 'zkpeer')
  if (zkInstall !== undefined) {
    const install = zkInstall
    await runSystem((n, durable) => zookeeperTarget(install, n, durable), 'zookeeper')
  }
  if (!skipInProcess) {
    progress('in-process: one peer through the Session API')
    for (const f of await singlePeerBench({ znodes: quick ? 20_000 : 100_000, ops: quick ? 30_000 : 200_000, progress: (s) => progress(`single-peer ${s}`) })) {
      extras.push({ section: 'single peer (in-process, in-memory)', workload: f.workload, value: f.value, unit: f.unit, detail: f.detail, loadAvg1: load1() })
    }
    progress('in-process: consensus core alone')
    const c = consensusBenchmark(quick ? { entries: 200_000, failoverSeeds: 20 } : {})
    extras.push({ section: 'consensus core', workload: 'committed entries/s', value: c.entriesPerSec, unit: 'entries/s', detail: `3 cores, in-memory network, synchronous persistence, 100-byte proposals in batches of ${c.batch}, ${fmt(c.entries)} entries`, loadAvg1: load1() })
    const sim = 'on the simulator clock (tickMs 50, electionTicks 10, network 1–3 ms, disks 0–2 ms)'
    extras.push({ section: 'consensus core', workload: 'simulated fail-over, median', value: c.failover.medianMs, unit: 'ms', detail: `leader crash whose closed connections the survivors' transports report (as kill -9) → next commit ${sim}, ${c.failoverSeeds} seeds; p99 ${c.failover.p99Ms} ms`, loadAvg1: load1() })
    extras.push({ section: 'consensus core', workload: 'simulated silent-leader fail-over, median', value: c.silentFailover.medianMs, unit: 'ms', detail: `leader falls silent with no connection closed (only the election timeout notices) → next commit ${sim}, ${c.failoverSeeds} seeds; p99 ${c.silentFailover.p99Ms} ms`, loadAvg1: load1() })
    progress(`consensus: ${fmt(c.entriesPerSec)} entries/s; simulated fail-over median ${c.failover.medianMs} ms (silent leader ${c.silentFailover.medianMs} ms)`)
  }
}

let failed: unknown
try {
  await main()
} catch (err) {
  failed = err
  notes.push(`the run stopped early: ${err instanceof Error ? err.stack ?? err.message : String(err)}`)
} finally {
  await stopAll()
}
const md = markdown()
writeFileSync(join(outDir, 'results.md'), md)
writeFileSync(jsonFile, JSON.stringify({ machine: machine(), results: rows, extras }, null, 2) + '\n')
process.stdout.write('\n' + md)
process.stderr.write(`\nwrote ${join(outDir, 'results.md')} and ${jsonFile}\n`)
if (failed !== undefined) {
  console.error(failed)
  process.exitCode = 1
}
