/**
 * The ZooKeeper side of the benchmark's load generators: a Node.js process holding
 * node-zookeeper-client sessions to ONE ZooKeeper server, driven over IPC with the same
 * protocol as the zkpeer peer child (test/cluster/protocol.ts), so the suite runs the same
 * loops (test/cluster/loadgen.ts) against both systems. `start` takes `options.listen` as the
 * server's `host:port`; `connect` opens session 1; `gen` runs a load-generator request.
 *
 * node-zookeeper-client has no `sync()`; ours sends ZooKeeper's SYNC request (op 9, payload
 * `{ path }`) and reads the reply as an empty one (see {@link sync}).
 */
import { EventEmitter } from 'node:events'
import zookeeper from 'node-zookeeper-client'
import jute from 'node-zookeeper-client/lib/jute/index.js'
import { LoadGenerator, type ClientOps } from '../test/cluster/loadgen.js'
import type { ChildReply, ChildRequest } from '../test/cluster/protocol.js'

// The client keeps one EventEmitter per watched path with a listener per watcher; the
// fan-out workload registers hundreds on one path on purpose.
EventEmitter.defaultMaxListeners = 100_000

type Client = any // eslint-disable-line @typescript-eslint/no-explicit-any

let server = ''
const clients: Client[] = []

function send (message: ChildReply): void {
  process.send?.(message)
}

function connectClient (): Promise<Client> {
  const client = zookeeper.createClient(server, { sessionTimeout: 10_000, spinDelay: 100, retries: 0 })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ZooKeeper session with ${server} within 20 s`)), 20_000)
    client.once('connected', () => { clearTimeout(timer); resolve(client) })
    client.connect()
  })
}

function zkError (err: { getCode?: () => number, getName?: () => string, message?: string }): Error & { code: string } {
  const e = new Error(err.message ?? String(err)) as Error & { code: string }
  e.code = err.getName?.() ?? 'OTHER'
  return e
}

function cb<T> (fn: (done: (err: unknown, v?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, v) => err ? reject(zkError(err as never)) : resolve(v as T)))
}

/**
 * ZooKeeper's sync: the request goes out as op SYNC (9) with a `{ path }` payload; the client
 * library then sees the header type DELETE, whose reply it parses as empty (it has no SYNC
 * case and would otherwise drop the connection). SyncResponse's `path` is ignored.
 */
function sync (client: Client, path: string): Promise<void> {
  const header = new jute.protocol.RequestHeader()
  header.type = jute.OP_CODES.DELETE
  const payload = new jute.protocol.GetACLRequest()
  payload.path = path
  const inner = new jute.Request(header, payload)
  const request = {
    header,
    payload,
    toBuffer: () => {
      header.type = jute.OP_CODES.SYNC
      try { return inner.toBuffer() } finally { header.type = jute.OP_CODES.DELETE }
    },
  }
  return new Promise((resolve, reject) => {
    client.connectionManager.queue(request, (err: unknown) => err ? reject(zkError(err as never)) : resolve())
  })
}

function ops (client: Client): ClientOps {
  return {
    setData: (path, data) => cb((d) => client.setData(path, data, -1, d)),
    create: (path, data, sequential) => cb((d) => client.create(path, data, sequential ? zookeeper.CreateMode.PERSISTENT_SEQUENTIAL : zookeeper.CreateMode.PERSISTENT, d)),
    getData: (path) => cb((d) => client.getData(path, d)),
    getDataWatch: (path, listener) => cb((d) => client.getData(path, () => listener(), d)),
    exists: async (path) => await cb((d) => client.exists(path, d)) !== null,
    sync: (path) => sync(client, path),
    multiCreate: (paths, data) => {
      const t = client.transaction()
      for (const p of paths) t.create(p, data)
      return cb((d) => t.commit(d))
    },
  }
}

const generator = new LoadGenerator(() => {
  if (clients[0] === undefined) throw new Error('not connected')
  return ops(clients[0])
}, async () => {
  const c = await connectClient()
  clients.push(c)
  return ops(c)
})

async function handle (req: ChildRequest): Promise<unknown> {
  switch (req.cmd) {
    case 'start':
      server = req.options.listen
      return { listenUrl: server }
    case 'connect': {
      // Session 1 is the generator's main client; watcher sessions are opened by the generator.
      const c = await connectClient()
      clients.unshift(c)
      return { session: 1 }
    }
    case 'gen':
      return generator.handle(req.op)
    case 'stop':
      for (const c of clients) c.close()
      setTimeout(() => process.exit(0), 50)
      return true
    default:
      throw new Error(`the ZooKeeper load generator has no command ${req.cmd}`)
  }
}

process.on('message', (raw) => {
  const req = raw as ChildRequest
  handle(req).then(
    (result) => send({ id: req.id, ok: true, result }),
    (err: unknown) => send({ id: req.id, ok: false, code: (err as { code?: string }).code ?? 'SYSTEMERROR', message: err instanceof Error ? err.message : String(err) }),
  )
})
process.on('disconnect', () => process.exit(0))
