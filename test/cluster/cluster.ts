/**
 * Starts peers as separate Node.js processes on loopback and drives them over IPC: the
 * harness of the real-process tests and benchmarks. Every process it starts is killed by
 * `stop()`, and also if the parent exits.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { EventEmitter } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePorts } from '../helpers/ports.js'
import type { ChildEvent, ChildPeerOptions, ChildReply, ChildRequest } from './protocol.js'

const childScript = fileURLToPath(new URL('./child.js', import.meta.url))

type RequestBody = ChildRequest extends infer R ? R extends { id: number } ? Omit<R, 'id'> : never : never

/** An error the child reported for a request: ZooKeeper's code and the message. */
export class ChildError extends Error {
  constructor (readonly code: string, message: string) {
    super(`${code}: ${message}`)
  }
}

/** One peer process. Emits the child's events ('role', 'leader', 'watch', 'session-state') and 'exit'. */
export class PeerProcess extends EventEmitter {
  #nextId = 1
  readonly #waiting = new Map<number, { resolve: (v: unknown) => void, reject: (e: Error) => void }>()
  #child: ChildProcess
  #alive = true
  readonly exited: Promise<number | null>

  /**
   * Forks the child. `spawn.script` replaces the peer child with another script speaking the
   * same protocol (the benchmarks' ZooKeeper client); `spawn.execArgv` passes Node flags
   * (e.g. --expose-gc).
   */
  constructor (readonly options: ChildPeerOptions, spawn: { readonly script?: string, readonly execArgv?: readonly string[] } = {}) {
    super()
    this.#child = fork(spawn.script ?? childScript, [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [...(spawn.execArgv ?? [])] })
    this.exited = new Promise((resolve) => {
      this.#child.once('exit', (code) => {
        this.#alive = false
        for (const w of this.#waiting.values()) w.reject(new ChildError('CONNECTIONLOSS', `peer process ${options.id} exited`))
        this.#waiting.clear()
        this.emit('exit', code)
        resolve(code)
      })
    })
    this.#child.on('message', (raw) => {
      const m = raw as ChildReply | ChildEvent
      if ('event' in m) {
        this.emit(m.event, m)
        return
      }
      const w = this.#waiting.get(m.id)
      if (w === undefined) return
      this.#waiting.delete(m.id)
      if (m.ok) w.resolve(m.result)
      else w.reject(new ChildError(m.code, m.message))
    })
  }

  /** The peer's id. */
  get id (): string { return this.options.id }
  /** True until the process exits. */
  get alive (): boolean { return this.#alive }
  /** The process id. */
  get pid (): number | undefined { return this.#child.pid }

  /** Sends a request and resolves with the child's result (rejects with ChildError). */
  request<T = unknown> (body: RequestBody, timeoutMs = 60_000): Promise<T> {
    if (!this.#alive) return Promise.reject(new ChildError('CONNECTIONLOSS', `peer process ${this.id} is not running`))
    const id = this.#nextId++
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(id)
        reject(new ChildError('OPERATIONTIMEOUT', `peer process ${this.id} did not answer ${body.cmd} within ${timeoutMs} ms`))
      }, timeoutMs)
      this.#waiting.set(id, {
        resolve: (v) => { clearTimeout(timer); resolve(v as T) },
        reject: (e) => { clearTimeout(timer); reject(e) },
      })
      this.#child.send({ ...body, id })
    })
  }

  /** Calls a Session method in the child. */
  call<T = unknown> (session: number, method: string, ...args: unknown[]): Promise<T> {
    return this.request<T>({ cmd: 'call', session, method, args })
  }

  /** Sends a signal (SIGKILL, SIGSTOP, SIGCONT). */
  signal (sig: NodeJS.Signals): void {
    if (this.#alive) this.#child.kill(sig)
  }

  /** kill -9 and wait for the exit. */
  async kill (): Promise<void> {
    this.signal('SIGCONT')
    this.signal('SIGKILL')
    await this.exited
  }
}

/** Options of {@link startCluster}. */
export interface ClusterOptions {
  readonly size: number
  readonly scheme?: 'tcp' | 'ws'
  /** Give each peer a durable dataDir (in a temp folder removed by stop()). */
  readonly durable?: boolean
  readonly secret?: string
  readonly tickMs?: number
  readonly electionTicks?: number
  readonly sessionTimeoutMs?: number
  readonly snapshotEntries?: number
  /** With `durable`: fsync before acknowledging (default true, the Peer default). */
  readonly sync?: boolean
  /** Node flags for every peer process (e.g. --expose-gc), also on restarts. */
  readonly execArgv?: readonly string[]
  /** Give each peer a ZooKeeper client port too (see {@link Cluster.zkPorts}). */
  readonly zkListen?: boolean
}

/** A running multi-process ensemble. */
export class Cluster {
  readonly peers = new Map<string, PeerProcess>()
  /** Each peer's ZooKeeper client port, with the `zkListen` option (kept across restarts). */
  readonly zkPorts = new Map<string, number>()

  private constructor (readonly ensemble: Readonly<Record<string, string>>, private readonly base: Omit<ChildPeerOptions, 'id' | 'listen' | 'dataDir'>, private readonly dir: string | undefined, private readonly execArgv: readonly string[] = []) {}

  /** Starts `size` peer processes on free loopback ports and waits until each is ready. */
  static async start (opts: ClusterOptions): Promise<Cluster> {
    // A port found free can be taken by another test before our child binds it: pick again.
    for (let attempt = 1; ; attempt++) {
      try {
        return await Cluster.#startOnce(opts)
      } catch (err) {
        if (attempt >= 3 || !String(err).includes('EADDRINUSE')) throw err
      }
    }
  }

  static async #startOnce (opts: ClusterOptions): Promise<Cluster> {
    const ports = await freePorts(opts.size)
    const scheme = opts.scheme ?? 'tcp'
    const ids = Array.from({ length: opts.size }, (_, i) => String.fromCharCode(97 + i))
    const ensemble = Object.fromEntries(ids.map((id, i) => [id, `${scheme}://127.0.0.1:${ports[i]}`]))
    const dir = opts.durable === true ? mkdtempSync(join(tmpdir(), 'zkpeer-cluster-')) : undefined
    const cluster = new Cluster(ensemble, {
      ensemble,
      secret: opts.secret,
      tickMs: opts.tickMs,
      electionTicks: opts.electionTicks,
      sessionTimeoutMs: opts.sessionTimeoutMs,
      minSessionTimeoutMs: opts.sessionTimeoutMs === undefined ? undefined : Math.min(1000, opts.sessionTimeoutMs),
      snapshotEntries: opts.snapshotEntries,
      ...(opts.sync === undefined ? {} : { sync: opts.sync }),
    }, dir, opts.execArgv)
    if (opts.zkListen === true) {
      for (const [i, port] of (await freePorts(opts.size)).entries()) cluster.zkPorts.set(ids[i] as string, port)
    }
    try {
      await Promise.all(ids.map((id) => cluster.startPeer(id)))
      await Promise.all([...cluster.peers.values()].map((p) => p.request({ cmd: 'ready' })))
    } catch (err) {
      await cluster.stop()
      throw err
    }
    return cluster
  }

  /** Starts (or restarts, with the same dataDir) peer `id` as a new process. */
  async startPeer (id: string, overrides: Partial<ChildPeerOptions> = {}): Promise<PeerProcess> {
    const url = this.ensemble[id]
    if (url === undefined) throw new Error(`no peer ${id} in this cluster`)
    const options: ChildPeerOptions = {
      ...this.base, id, listen: url, ...(this.dir === undefined ? {} : { dataDir: join(this.dir, id) }),
      ...(this.zkPorts.has(id) ? { zkListen: `tcp://127.0.0.1:${this.zkPorts.get(id)}` } : {}), ...overrides,
    }
    const p = new PeerProcess(options, { execArgv: this.execArgv })
    this.peers.set(id, p)
    await p.request({ cmd: 'start', options })
    return p
  }

  /** The peer process `id`. */
  peer (id: string): PeerProcess {
    const p = this.peers.get(id)
    if (p === undefined) throw new Error(`no peer ${id}`)
    return p
  }

  /**
   * Polls the live peers among `among` until all agree on one leader (not `excluding`, e.g. a
   * peer just killed that the others still follow until their election timeout); resolves with its id.
   */
  async leader (timeoutMs = 20_000, among: readonly string[] = [...this.peers.keys()], excluding?: string): Promise<string> {
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      const live = among.map((id) => this.peers.get(id)).filter((p): p is PeerProcess => p?.alive === true)
      const statuses = await Promise.all(live.map((p) => p.request<{ leader?: string, role: string }>({ cmd: 'status' }, 2_000).catch(() => undefined)))
      const leaders = new Set(statuses.map((s) => s?.leader))
      const [only] = leaders
      if (leaders.size === 1 && only !== undefined && only !== excluding && statuses.every((s) => s !== undefined)) return only
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    throw new Error(`no agreed leader among ${among.join(',')} within ${timeoutMs} ms`)
  }

  /** Kills every process and removes the data folder. */
  async stop (): Promise<void> {
    await Promise.all([...this.peers.values()].map((p) => p.kill()))
    if (this.dir !== undefined) rmSync(this.dir, { recursive: true, force: true })
  }
}
