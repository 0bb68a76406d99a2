/**
 * Starts and stops an Apache ZooKeeper ensemble on loopback for the benchmark comparison:
 * `size` server JVMs (QuorumPeerMain), free ports, temp data dirs, ZooKeeper's default settings
 * otherwise (tickTime 2000, initLimit 10, syncLimit 5, forceSync yes). Two changes, both needed
 * to run several servers on one host: the AdminServer (Jetty, port 8080 by default) is off, and
 * clients bind to 127.0.0.1 only. The in-memory variant puts dataDir on tmpfs (/dev/shm) with
 * forceSync=no: ZooKeeper has no in-memory mode, that is the nearest.
 *
 * It installs nothing: {@link findZooKeeper} looks for an installation (the Debian/Ubuntu
 * package `zookeeper`, or ZOOKEEPER_HOME pointing at an Apache binary release) and
 * {@link installHint} says how to get one. Every JVM it starts is killed by `stop()` and, as a
 * last resort, synchronously when this process exits.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, closeSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePorts } from '../test/helpers/ports.js'

/** How to run ZooKeeper here: the java binary and the class path. */
export interface ZooKeeperInstall {
  readonly java: string
  readonly classpath: string
  readonly version: string
}

export const installHint = [
  'Apache ZooKeeper is not installed, so there is nothing to compare with. To install it (this suite never installs anything):',
  '  Debian/Ubuntu:  sudo apt-get update && sudo apt-get install -y zookeeper     (needs Java 11+; 3.8.x on Debian 12)',
  '  elsewhere:      download apache-zookeeper-3.8.x-bin.tar.gz from https://zookeeper.apache.org/releases.html,',
  '                  unpack it and set ZOOKEEPER_HOME to that folder (and JAVA to a java binary if `java` is not on PATH)',
].join('\n')

/** Finds a ZooKeeper installation, or undefined. */
export function findZooKeeper (): ZooKeeperInstall | undefined {
  const java = process.env.JAVA ?? 'java'
  const javaOk = spawnSync(java, ['-version'], { stdio: 'ignore' }).status === 0
  if (!javaOk) return undefined
  const home = process.env.ZOOKEEPER_HOME
  let classpath: string | undefined
  if (home !== undefined && existsSync(join(home, 'lib'))) classpath = [join(home, 'conf'), join(home, 'lib', '*')].join(':')
  else if (existsSync('/usr/share/java/zookeeper.jar')) classpath = ['/etc/zookeeper/conf', '/usr/share/java/zookeeper.jar'].join(':')
  if (classpath === undefined) return undefined
  const v = spawnSync(java, ['-cp', classpath, 'org.apache.zookeeper.version.VersionInfoMain'], { encoding: 'utf8' })
  const version = /version ([0-9][0-9.]*)/.exec(v.stdout ?? '')?.[1] ?? 'unknown'
  return { java, classpath, version }
}

const live = new Set<ChildProcess>()
process.on('exit', () => { for (const p of live) try { p.kill('SIGKILL') } catch { /* gone */ } })

/** One server's answer to the `srvr` four-letter command. */
export interface Srvr { readonly mode: string, readonly zxid: number }

/** Asks `srvr` on a client port; undefined when the server does not answer (or is not serving). */
export function srvr (port: number, timeoutMs = 1000): Promise<Srvr | undefined> {
  return new Promise((resolve) => {
    let text = ''
    const socket = net.connect(port, '127.0.0.1')
    const timer = setTimeout(() => { socket.destroy(); resolve(undefined) }, timeoutMs)
    socket.on('connect', () => socket.write('srvr'))
    socket.on('data', (d) => { text += d.toString() })
    socket.on('error', () => { clearTimeout(timer); resolve(undefined) })
    socket.on('close', () => {
      clearTimeout(timer)
      const mode = /Mode: (\w+)/.exec(text)?.[1]
      const zxid = /Zxid: 0x([0-9a-f]+)/.exec(text)?.[1]
      resolve(mode === undefined || zxid === undefined ? undefined : { mode, zxid: Number.parseInt(zxid, 16) })
    })
  })
}

interface Server { readonly n: number, readonly clientPort: number, readonly dir: string, proc: ChildProcess | undefined }

/** A running ZooKeeper ensemble. Servers are numbered 1..size (their myid). */
export class ZkEnsemble {
  private constructor (readonly install: ZooKeeperInstall, readonly servers: Server[], private readonly root: string) {}

  static async start (opts: { readonly install: ZooKeeperInstall, readonly size: number, readonly durable: boolean }): Promise<ZkEnsemble> {
    const ports = await freePorts(opts.size * 3)
    const base = opts.durable || !existsSync('/dev/shm') ? tmpdir() : '/dev/shm'
    const root = mkdtempSync(join(base, 'zkpeer-bench-zookeeper-'))
    const quorum = Array.from({ length: opts.size }, (_, i) => `server.${i + 1}=127.0.0.1:${ports[opts.size + 2 * i]}:${ports[opts.size + 2 * i + 1]}`)
    const servers: Server[] = []
    for (let i = 0; i < opts.size; i++) {
      const dir = join(root, `s${i + 1}`)
      mkdirSync(join(dir, 'data'), { recursive: true })
      writeFileSync(join(dir, 'data', 'myid'), `${i + 1}\n`)
      writeFileSync(join(dir, 'zoo.cfg'), [
        'tickTime=2000', 'initLimit=10', 'syncLimit=5',
        `dataDir=${join(dir, 'data')}`,
        `clientPort=${ports[i]}`, 'clientPortAddress=127.0.0.1',
        'admin.enableServer=false', '4lw.commands.whitelist=srvr',
        ...(opts.durable ? [] : ['forceSync=no']),
        ...quorum, '',
      ].join('\n'))
      servers.push({ n: i + 1, clientPort: ports[i]!, dir, proc: undefined })
    }
    const ensemble = new ZkEnsemble(opts.install, servers, root)
    try {
      for (const s of servers) ensemble.#spawn(s)
      await ensemble.waitServing(servers.map((s) => s.n), 60_000)
    } catch (err) {
      await ensemble.stop()
      throw err
    }
    return ensemble
  }

  #spawn (s: Server): void {
    const log = openSync(join(s.dir, 'server.log'), 'a')
    const proc = spawn(this.install.java, [
      `-Dzookeeper.log.dir=${s.dir}`, '-cp', this.install.classpath,
      'org.apache.zookeeper.server.quorum.QuorumPeerMain', join(s.dir, 'zoo.cfg'),
    ], { stdio: ['ignore', log, log] })
    closeSync(log)
    live.add(proc)
    proc.once('exit', () => live.delete(proc))
    s.proc = proc
  }

  /** The `host:port` of server n's client port. */
  address (n: number): string { return `127.0.0.1:${this.server(n).clientPort}` }

  server (n: number): Server {
    const s = this.servers[n - 1]
    if (s === undefined) throw new Error(`no ZooKeeper server ${n}`)
    return s
  }

  /** Waits until each of `ns` answers srvr as leader or follower. */
  async waitServing (ns: readonly number[], timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const states = await Promise.all(ns.map((n) => srvr(this.server(n).clientPort)))
      if (states.every((s) => s !== undefined && (s.mode === 'leader' || s.mode === 'follower'))) return
      if (Date.now() > deadline) throw new Error(`ZooKeeper servers ${ns.join(',')} not serving within ${timeoutMs} ms (logs in ${this.root})`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }

  /** The number of the server reporting Mode: leader (polls until one does). */
  async leader (timeoutMs = 30_000): Promise<number> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      for (const s of this.servers) {
        if (s.proc === undefined) continue
        if ((await srvr(s.clientPort))?.mode === 'leader') return s.n
      }
      if (Date.now() > deadline) throw new Error('no ZooKeeper leader')
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }

  /** kill -9 server n and wait for its exit. */
  async kill (n: number): Promise<void> {
    const s = this.server(n)
    const p = s.proc
    s.proc = undefined
    if (p === undefined || p.exitCode !== null) return
    const exited = new Promise((resolve) => p.once('exit', resolve))
    p.kill('SIGKILL')
    await exited
  }

  /** Starts server n again with its data. */
  restart (n: number): void {
    const s = this.server(n)
    if (s.proc !== undefined) throw new Error(`server ${n} is running`)
    this.#spawn(s)
  }

  /** Resident set size of server n's JVM, bytes. */
  rssBytes (n: number): number {
    const pid = this.server(n).proc?.pid
    if (pid === undefined) return 0
    const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
    return Number(kb ?? 0) * 1024
  }

  /**
   * Server n's memory after a full GC (`jcmd <pid> GC.run`, when jcmd is present): rss and the
   * Java heap in use (from `GC.heap_info`), bytes.
   */
  async memory (n: number): Promise<{ rss: number, heap?: number }> {
    const pid = this.server(n).proc?.pid
    if (pid === undefined) return { rss: 0 }
    const jcmd = this.install.java.replace(/java$/, 'jcmd')
    const gc = spawnSync(jcmd, [String(pid), 'GC.run'], { encoding: 'utf8' })
    if (gc.status !== 0) return { rss: this.rssBytes(n) }
    const info = spawnSync(jcmd, [String(pid), 'GC.heap_info'], { encoding: 'utf8' }).stdout ?? ''
    const usedK = /used (\d+)K/.exec(info)?.[1]
    return { rss: this.rssBytes(n), ...(usedK === undefined ? {} : { heap: Number(usedK) * 1024 }) }
  }

  /** Kills every server and removes the data. */
  async stop (): Promise<void> {
    await Promise.all(this.servers.map((s) => this.kill(s.n)))
    rmSync(this.root, { recursive: true, force: true })
  }
}
