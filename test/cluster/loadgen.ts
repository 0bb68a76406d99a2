/**
 * A load generator that runs inside a process next to a client (a zkpeer Session in a peer
 * child, or a ZooKeeper client in benchmarks/zk-client-child.ts), so that the benchmark suite
 * drives both systems with the same loops. It owns only its own timers and arrays; it talks to
 * the store through {@link ClientOps}, and to the parent through {@link GenRequest} / replies.
 *
 * Times that cross processes (write start, watch notification, acknowledgement) are epoch
 * milliseconds with sub-millisecond precision (`performance.timeOrigin + performance.now()`):
 * every process on one machine reads the same clock.
 */
// Imported, not the global: Node's global performance is a getter, called on every use.
import { performance } from 'node:perf_hooks'

/** What the generator needs from a client: the public operations, promise-shaped. */
export interface ClientOps {
  setData (path: string, data: Buffer): Promise<unknown>
  create (path: string, data: Buffer, sequential: boolean): Promise<unknown>
  getData (path: string): Promise<unknown>
  /** Registers a one-shot data watch with `listener` (fires once). */
  getDataWatch (path: string, listener: () => void): Promise<unknown>
  exists (path: string): Promise<boolean>
  sync (path: string): Promise<unknown>
  /** Creates all `paths` atomically (multi / transaction). */
  multiCreate (paths: readonly string[], data: Buffer): Promise<unknown>
}

/** A request to the generator. */
export type GenRequest =
  | { readonly kind: 'prepare', readonly path: string, readonly keys: number, readonly bytes: number }
  | { readonly kind: 'bench', readonly workload: 'write' | 'create-seq' | 'read' | 'sync-read', readonly path: string, readonly ops: number, readonly inFlight: number, readonly bytes: number, readonly keys: number, readonly sampleEvery: number }
  | { readonly kind: 'populate', readonly parent: string, readonly from: number, readonly count: number, readonly bytes: number, readonly batch: number, readonly inFlight: number }
  | { readonly kind: 'watchers', readonly path: string, readonly sessions: number, readonly perSession: number }
  | { readonly kind: 'watchWait', readonly timeoutMs: number }
  | { readonly kind: 'timedLoadStart', readonly path: string, readonly inFlight: number, readonly bytes: number, readonly keys: number }
  | { readonly kind: 'firstAckAfter', readonly atMs: number }
  /** Counts of the running timed load so far: acknowledged writes and failures (0s when none runs). */
  | { readonly kind: 'timedLoadCount' }
  | { readonly kind: 'timedLoadStop' }
  | { readonly kind: 'writeOnce', readonly path: string, readonly bytes: number }

/** What a `bench` reports. Latencies (ms) of every `sampleEvery`-th operation, unsorted. */
export interface GenBenchReport {
  readonly ops: number
  readonly seconds: number
  readonly startMs: number
  readonly endMs: number
  readonly latencies: Float64Array
  readonly errors: number
  readonly firstError?: string
}

/** Epoch milliseconds, sub-millisecond precision, comparable across processes. */
export function epochMs (): number {
  return performance.timeOrigin + performance.now()
}

const errText = (err: unknown): string => err instanceof Error ? err.message : String(err)

/** One generator per process: holds watch state and the timed load between requests. */
export class LoadGenerator {
  #watch: { expected: number, fired: number, lastAtMs: number, done: () => void, all: Promise<void> } | undefined
  #load: { stop: boolean, acks: number, probes: Array<{ issuedMs: number, ackMs: number }>, errors: Record<string, number>, done: Promise<void> } | undefined
  readonly #extra: ClientOps[] = []

  /** `main` is the process's own client; `open` opens another session (for watchers). */
  constructor (private readonly main: () => ClientOps, private readonly open: () => Promise<ClientOps>) {}

  async handle (req: GenRequest): Promise<unknown> {
    const zk = this.main()
    switch (req.kind) {
      case 'prepare': return this.#prepare(zk, req.path, req.keys, req.bytes)
      case 'bench': return this.#bench(zk, req)
      case 'populate': return this.#populate(zk, req)
      case 'watchers': return this.#watchers(req)
      case 'watchWait': {
        const w = this.#watch
        if (w === undefined) return { fired: 0, expected: 0, lastAtMs: 0 }
        await Promise.race([w.all, new Promise((resolve) => setTimeout(resolve, req.timeoutMs))])
        this.#watch = undefined
        return { fired: w.fired, expected: w.expected, lastAtMs: w.lastAtMs }
      }
      case 'timedLoadStart': {
        if (this.#load !== undefined) throw new Error('a timed load is already running')
        const load = { stop: false, acks: 0, probes: [] as Array<{ issuedMs: number, ackMs: number }>, errors: {} as Record<string, number>, done: Promise.resolve() }
        const value = Buffer.alloc(req.bytes, 3)
        let n = 0
        const worker = async (): Promise<void> => {
          while (!load.stop) {
            try {
              await zk.setData(`${req.path}/k${n++ % req.keys}`, value)
              load.acks++
            } catch (err) {
              const code = (err as { code?: unknown }).code
              const key = typeof code === 'string' || typeof code === 'number' ? String(code) : 'OTHER'
              load.errors[key] = (load.errors[key] ?? 0) + 1
              await new Promise((resolve) => setTimeout(resolve, 5))
            }
          }
        }
        // Besides the workers (which may sit on a write sent before a failure), a probe issues a
        // fresh write every 5 ms (at most 400 outstanding), so that "writes succeed again"
        // can be timed from writes issued after an event (see firstAckAfter).
        let outstanding = 0
        const probe = setInterval(() => {
          if (outstanding >= 400) return
          outstanding++
          const issuedMs = epochMs()
          zk.setData(`${req.path}/k${n++ % req.keys}`, value).then(
            () => { load.probes.push({ issuedMs, ackMs: epochMs() }) },
            () => {},
          ).finally(() => { outstanding-- })
        }, 5)
        load.done = Promise.all(Array.from({ length: req.inFlight }, worker)).then(() => { clearInterval(probe) })
        this.#load = load
        return true
      }
      case 'firstAckAfter': {
        // The earliest acknowledgement of a write issued after `atMs` (probes are pushed in
        // completion order, so the first match is the earliest ack).
        const first = (this.#load?.probes ?? []).find((p) => p.issuedMs > req.atMs)
        return first === undefined ? null : first.ackMs
      }
      case 'timedLoadCount': {
        const load = this.#load
        let errors = 0
        for (const n of Object.values(load?.errors ?? {})) errors += n
        return { acks: (load?.acks ?? 0) + (load?.probes.length ?? 0), errors }
      }
      case 'writeOnce': {
        const startMs = epochMs()
        await zk.setData(req.path, Buffer.alloc(req.bytes, 9))
        return { startMs, ackMs: epochMs() }
      }
      case 'timedLoadStop': {
        const load = this.#load
        if (load === undefined) return { acks: 0, errors: {} }
        load.stop = true
        await Promise.race([load.done, new Promise((resolve) => setTimeout(resolve, 15_000))])
        this.#load = undefined
        return { acks: load.acks, errors: load.errors }
      }
    }
  }

  async #prepare (zk: ClientOps, path: string, keys: number, bytes: number): Promise<boolean> {
    const value = Buffer.alloc(bytes, 2)
    if (!await zk.exists(path)) await zk.create(path, Buffer.alloc(0), false).catch(() => undefined)
    const missing: string[] = []
    for (let i = 0; i < keys; i++) if (!await zk.exists(`${path}/k${i}`)) missing.push(`${path}/k${i}`)
    for (let i = 0; i < missing.length; i += 200) {
      await zk.multiCreate(missing.slice(i, i + 200), value).catch(async () => {
        for (const p of missing.slice(i, i + 200)) await zk.create(p, value, false).catch(() => undefined)
      })
    }
    return true
  }

  async #bench (zk: ClientOps, req: Extract<GenRequest, { kind: 'bench' }>): Promise<GenBenchReport> {
    const value = Buffer.alloc(req.bytes, 2)
    const every = Math.max(1, req.sampleEvery)
    const latencies = new Float64Array(Math.ceil(req.ops / every))
    const { path, keys } = req
    // The key paths are made once, as an app holds the names of the nodes it uses: building a
    // string per operation would time the generator, not the store.
    const key = Array.from({ length: keys }, (_, k) => `${path}/k${k}`)
    const op: (i: number) => Promise<unknown> =
      req.workload === 'write' ? (i) => zk.setData(key[i % keys]!, value)
        : req.workload === 'create-seq' ? () => zk.create(`${path}/seq-`, value, true)
          : req.workload === 'read' ? (i) => zk.getData(key[i % keys]!)
            : (i) => zk.sync(path).then(() => zk.getData(key[i % keys]!))
    let next = 0
    let errors = 0
    let firstError: string | undefined
    const startMs = epochMs()
    const t0 = performance.now()
    const worker = async (): Promise<void> => {
      while (next < req.ops) {
        const i = next++
        if (i % every !== 0) {
          try { await op(i) } catch (err) { errors++; firstError ??= errText(err) }
          continue
        }
        const s = performance.now()
        try { await op(i) } catch (err) { errors++; firstError ??= errText(err) }
        latencies[i / every] = performance.now() - s
      }
    }
    await Promise.all(Array.from({ length: req.inFlight }, worker))
    const seconds = (performance.now() - t0) / 1000
    return { ops: req.ops, seconds, startMs, endMs: epochMs(), latencies, errors, ...(firstError === undefined ? {} : { firstError }) }
  }

  async #populate (zk: ClientOps, req: Extract<GenRequest, { kind: 'populate' }>): Promise<{ seconds: number }> {
    const value = Buffer.alloc(req.bytes, 5)
    if (!await zk.exists(req.parent)) await zk.create(req.parent, Buffer.alloc(0), false).catch(() => undefined)
    const t0 = performance.now()
    let next = req.from
    const end = req.from + req.count
    const worker = async (): Promise<void> => {
      while (next < end) {
        const from = next
        next = Math.min(end, next + req.batch)
        const paths: string[] = []
        for (let i = from; i < next; i++) paths.push(`${req.parent}/n${i}`)
        await zk.multiCreate(paths, value)
      }
    }
    await Promise.all(Array.from({ length: req.inFlight }, worker))
    return { seconds: (performance.now() - t0) / 1000 }
  }

  async #watchers (req: Extract<GenRequest, { kind: 'watchers' }>): Promise<number> {
    while (this.#extra.length < req.sessions) this.#extra.push(await this.open())
    let done: () => void = () => {}
    const all = new Promise<void>((resolve) => { done = resolve })
    const w = { expected: req.sessions * req.perSession, fired: 0, lastAtMs: 0, done, all }
    this.#watch = w
    const fire = (): void => {
      w.lastAtMs = epochMs()
      if (++w.fired === w.expected) w.done()
    }
    for (let s = 0; s < req.sessions; s++) {
      const zk = this.#extra[s]!
      const pending: Array<Promise<unknown>> = []
      for (let k = 0; k < req.perSession; k++) pending.push(zk.getDataWatch(req.path, () => fire()))
      await Promise.all(pending)
    }
    return w.expected
  }
}
