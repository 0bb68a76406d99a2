/**
 * A peer in its own process, driven by a parent over IPC (see protocol.ts). Used by the
 * real-process tests, the benchmarks and the recipe tests: the parent can kill -9, SIGSTOP
 * and restart it like any server process.
 */
import { writeFileSync } from 'node:fs'
import { Session as InspectorSession } from 'node:inspector'
import { Peer, ZkError, type Session } from '../../lib/index.js'
import { LoadGenerator } from './loadgen.js'
import { runRecipe } from './recipes.js'
import type { ChildEvent, ChildReply, ChildRequest, LoadReport } from './protocol.js'
import { sessionClientOps } from './session-ops.js'

let peer: Peer | undefined
const sessions = new Map<number, Session>()
let nextSession = 1
let load: { state: { stop: boolean }, done: Promise<LoadReport> } | undefined

function send (message: ChildReply | ChildEvent): void {
  process.send?.(message)
}

function session (n: number): Session {
  const s = sessions.get(n)
  if (s === undefined) throw new ZkError('SESSIONEXPIRED', `no session ${n} in this child`)
  return s
}

async function runLoad (zk: Session, prefix: string, inFlight: number, bytes: number, state: { stop: boolean }): Promise<LoadReport> {
  const acked: string[] = []
  const errors: Record<string, number> = {}
  const value = Buffer.alloc(bytes, 1)
  let n = 0
  const worker = async (): Promise<void> => {
    while (!state.stop) {
      const path = `${prefix}-${n++}`
      try {
        await zk.create(path, value)
        acked.push(path)
      } catch (err) {
        const code = err instanceof ZkError ? err.code : 'OTHER'
        errors[code] = (errors[code] ?? 0) + 1
        if (code === 'SESSIONEXPIRED') return
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    }
  }
  await Promise.all(Array.from({ length: inFlight }, worker))
  return { acked, errors }
}

async function handle (req: ChildRequest): Promise<unknown> {
  switch (req.cmd) {
    case 'start': {
      const p = await Peer.start({ ...req.options })
      peer = p
      p.on('role', (role: string) => send({ event: 'role', role, term: p.term }))
      p.on('leader', (leader: string | undefined) => send({ event: 'leader', leader }))
      return { listenUrl: p.listenUrl }
    }
    case 'ready':
      await need().ready()
      return need().status()
    case 'connect': {
      const zk = await need().connect({ sessionTimeoutMs: req.sessionTimeoutMs })
      const n = nextSession++
      sessions.set(n, zk)
      zk.on('state', (state: string) => send({ event: 'session-state', session: n, state }))
      return { session: n, sessionId: zk.sessionId }
    }
    case 'call': {
      const zk = session(req.session) as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>
      const method = zk[req.method]
      if (typeof method !== 'function') throw new ZkError('UNIMPLEMENTED', `no Session method ${req.method}`)
      return await method.apply(zk, [...req.args])
    }
    case 'watch': {
      const n = req.session
      session(n).addWatch(req.path, (e) => send({ event: 'watch', session: n, type: e.type, path: e.path }), { recursive: req.recursive })
      return true
    }
    case 'status':
      return need().status()
    case 'startLoad': {
      const state = { stop: false }
      load = { state, done: runLoad(session(req.session), req.prefix, req.inFlight, req.bytes, state) }
      return true
    }
    case 'stopLoad': {
      if (load === undefined) throw new ZkError('BADARGUMENTS', 'no load running')
      load.state.stop = true
      const report = await load.done
      load = undefined
      return report
    }
    case 'gen':
      return generator.handle(req.op)
    case 'memory': {
      // One full collection. (Node 20's V8 takes gc({ type: 'major', flavor: 'last-resort' })
      // for a scavenge, so asking for more is not possible here.) The young generation V8 grew
      // under load is given back by this collection only once the allocation rate V8 sampled
      // over its last ~5 s is low: the caller reads repeatedly until the process is idle.
      const gc = (globalThis as { gc?: () => void }).gc
      if (gc !== undefined) gc()
      return { ...process.memoryUsage(), gc: gc !== undefined }
    }
    case 'profile': {
      if (req.action === 'start') {
        profiler = new InspectorSession()
        profiler.connect()
        await inspectorPost('Profiler.enable')
        await inspectorPost('Profiler.setSamplingInterval', { interval: 200 })
        await inspectorPost('Profiler.start')
        return true
      }
      if (profiler === undefined) return false
      const { profile } = await inspectorPost('Profiler.stop') as { profile: unknown }
      profiler.disconnect()
      profiler = undefined
      if (req.file !== undefined) writeFileSync(req.file, JSON.stringify(profile))
      return true
    }
    case 'recipe':
      return runRecipe(session(req.session), req.action, (kind, detail) => send({ event: 'recipe', kind, detail }))
    case 'stop':
      await peer?.stop()
      setImmediate(() => process.exit(0))
      return true
  }
}

const generator = new LoadGenerator(
  () => sessionClientOps(session(1)),
  async () => sessionClientOps(await need().connect()),
)

let profiler: InspectorSession | undefined
function inspectorPost (method: string, params?: object): Promise<unknown> {
  return new Promise((resolve, reject) => profiler!.post(method, params ?? {}, (err, result) => err === null ? resolve(result) : reject(err)))
}

function need (): Peer {
  if (peer === undefined) throw new ZkError('CONNECTIONLOSS', 'peer not started in this child')
  return peer
}

process.on('message', (raw) => {
  const req = raw as ChildRequest
  handle(req).then(
    (result) => send({ id: req.id, ok: true, result }),
    (err: unknown) => send({
      id: req.id,
      ok: false,
      code: err instanceof ZkError ? err.code : 'SYSTEMERROR',
      message: err instanceof Error ? err.message : String(err),
    }),
  )
})
// The parent going away (killed test runner) must not leave this peer running.
process.on('disconnect', () => process.exit(0))
