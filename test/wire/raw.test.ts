/**
 * Goal: the wire server's behaviour below what node-zookeeper-client exposes: four-letter words,
 * bad input (oversized, negative, malformed frames) closing only that connection, UNIMPLEMENTED
 * for an unknown opcode, and the 3.6+ opcodes (addWatch, checkWatches/removeWatches,
 * getAllChildrenNumber, getEphemerals, whoAmI, multiRead) spoken by hand.
 * Method: one peer (memory://, tickMs 10) and a server on 127.0.0.1 port 0; raw sockets send
 * jute frames built with lib/wire/jute.ts and read replies frame by frame.
 */
import net from 'node:net'
import t, { type Test } from 'tap'
import { Peer } from '../../lib/index.js'
import { silentLogger } from '../../lib/env.js'
import { JuteReader, JuteWriter } from '../../lib/wire/jute.js'
import { OpCode } from '../../lib/wire/opcodes.js'
import { startZkServer, type ZkServer } from '../../lib/wire/zk-server.js'

let group = 0
async function setup (t: Test): Promise<{ peer: Peer, server: ZkServer }> {
  const peer = await Peer.start({ id: 'a', listen: `memory://raw${++group}`, tickMs: 10, log: silentLogger, minSessionTimeoutMs: 200 })
  await peer.ready()
  const server = await startZkServer({ peer, listen: 'tcp://127.0.0.1:0' })
  t.teardown(async () => { await server.stop(); await peer.stop() })
  return { peer, server }
}

/** A raw connection: sends bytes, reads whole frames, reports close. */
class Raw {
  readonly socket: net.Socket
  #buf = Buffer.alloc(0)
  #waiters: Array<() => void> = []
  closed = false
  text = ''
  constructor (port: number) {
    this.socket = net.connect(port, '127.0.0.1')
    this.socket.on('data', (c: Buffer) => { this.#buf = Buffer.concat([this.#buf, c]); this.text += c.toString('latin1'); this.#wake() })
    this.socket.on('close', () => { this.closed = true; this.#wake() })
    this.socket.on('error', () => {})
  }

  #wake (): void { for (const w of this.#waiters.splice(0)) w() }
  async #wait (): Promise<void> { await new Promise<void>((resolve) => this.#waiters.push(resolve)) }

  async frame (): Promise<JuteReader> {
    for (;;) {
      if (this.#buf.length >= 4) {
        const n = this.#buf.readInt32BE(0)
        if (this.#buf.length >= 4 + n) {
          const f = this.#buf.subarray(4, 4 + n)
          this.#buf = this.#buf.subarray(4 + n)
          return new JuteReader(Buffer.from(f))
        }
      }
      if (this.closed) throw new Error('closed')
      await this.#wait()
    }
  }

  async untilClosed (): Promise<void> { while (!this.closed) await this.#wait() }

  async handshake (): Promise<bigint> {
    const w = new JuteWriter().int(0).long(0).int(5000).long(0).buffer(Buffer.alloc(16)).boolean(false)
    this.socket.write(w.frame())
    const r = await this.frame()
    r.int()
    r.int()
    return r.long()
  }

  /** Sends a request and returns the reply after skipping notifications (collected in `events`). */
  async request (xid: number, type: number, body: (w: JuteWriter) => void = () => {}): Promise<{ err: number, r: JuteReader }> {
    const w = new JuteWriter().int(xid).int(type)
    body(w)
    this.socket.write(w.frame())
    for (;;) {
      const r = await this.frame()
      const rx = r.int()
      r.long()
      const err = r.int()
      if (rx === -1) { this.events.push(`${r.int()} ${r.int()} ${r.ustring()}`); continue }
      return { err, r }
    }
  }

  events: string[] = []
}

t.test('four-letter words', async (t) => {
  const { server } = await setup(t)
  const ask = async (word: string): Promise<string> => {
    const c = new Raw(server.port)
    c.socket.write(word)
    await c.untilClosed()
    return c.text
  }
  t.equal(await ask('ruok'), 'imok')
  t.equal(await ask('isro'), 'rw')
  t.match(await ask('srvr'), /^Zookeeper version: .*\nLatency min\/avg\/max: .*\nReceived: \d+\nSent: \d+\nConnections: \d+\nOutstanding: \d+\nZxid: 0x[0-9a-f]+\nMode: standalone\nNode count: \d+\n$/)
  t.match(await ask('stat'), /Clients:\n/)
  t.match(await ask('mntr'), /^zk_version\t.*\nzk_server_state\tstandalone\n/m)
  t.match(await ask('conf'), /clientPort=\d+\n/)
  t.match(await ask('wchs'), /connections watching \d+ paths\nTotal watches:\d+\n/)
  t.match(await ask('envi'), /^Environment:\n/)
  const c = new Raw(server.port)
  await c.handshake()
  t.match(await ask('cons'), /sid=0x[0-9a-f]+/)
  c.socket.destroy()
})

t.test('bad input closes only the offending connection', async (t) => {
  const { server } = await setup(t)
  const good = new Raw(server.port)
  await good.handshake()
  const huge = new Raw(server.port)
  const header = Buffer.alloc(4)
  header.writeInt32BE(0xfffff + 1024 + 1)
  huge.socket.write(header)
  await huge.untilClosed()
  t.ok(huge.closed, 'oversized frame length closes')
  const negative = new Raw(server.port)
  negative.socket.write(Buffer.from([0xff, 0xff, 0xff, 0xf0]))
  await negative.untilClosed()
  t.ok(negative.closed, 'negative frame length closes')
  const garbage = new Raw(server.port)
  garbage.socket.write(Buffer.from([0, 0, 0, 3, 1, 2, 3]))
  await garbage.untilClosed()
  t.ok(garbage.closed, 'a malformed ConnectRequest closes')
  const malformed = new Raw(server.port)
  await malformed.handshake()
  await malformed.request(1, OpCode.create, (w) => w.int(1_000_000)).catch(() => undefined)
  await malformed.untilClosed()
  t.ok(malformed.closed, 'a malformed request closes')
  const unknown = await good.request(1, 77)
  t.equal(unknown.err, -6, 'an unknown opcode is UNIMPLEMENTED')
  const ping = await good.request(-2, OpCode.ping)
  t.equal(ping.err, 0, 'the good connection still works')
  t.notOk(good.closed)
  good.socket.destroy()
})

t.test('3.6+ opcodes by hand', async (t) => {
  const { server } = await setup(t)
  const c = new Raw(server.port)
  const sid = await c.handshake()
  t.ok(sid > 0n)
  const create = (xid: number, path: string, flags: number): Promise<{ err: number, r: JuteReader }> =>
    c.request(xid, OpCode.create2, (w) => w.ustring(path).buffer(Buffer.from('d')).vector([0], (x) => x.int(31).ustring('world').ustring('anyone')).int(flags))
  t.equal((await create(1, '/p', 0)).err, 0)
  t.equal((await create(2, '/p/e', 1)).err, 0)
  t.equal((await create(3, '/p/q', 0)).err, 0)
  const n = await c.request(4, OpCode.getAllChildrenNumber, (w) => w.ustring('/p'))
  t.equal(n.r.int(), 2)
  const eph = await c.request(5, OpCode.getEphemerals, (w) => w.ustring('/'))
  t.same(eph.r.vector((x) => x.ustring()), ['/p/e'])
  const who = await c.request(6, OpCode.whoAmI)
  t.same(who.r.vector((x) => `${x.ustring()}:${x.ustring()}`), ['ip:127.0.0.1'])
  t.equal((await c.request(7, OpCode.checkWatches, (w) => w.ustring('/p').int(3))).err, -121, 'NOWATCHER')
  t.equal((await c.request(8, OpCode.addWatch, (w) => w.ustring('/p').int(1))).err, 0)
  t.equal((await c.request(9, OpCode.checkWatches, (w) => w.ustring('/p').int(5))).err, 0)
  t.equal((await c.request(10, OpCode.setData, (w) => w.ustring('/p/q').buffer(Buffer.from('x')).int(-1))).err, 0)
  t.same(c.events, ['3 3 /p/q'], 'recursive watch: NodeDataChanged before the reply')
  t.equal((await c.request(11, OpCode.removeWatches, (w) => w.ustring('/p').int(5))).err, 0)
  t.equal((await c.request(12, OpCode.setData, (w) => w.ustring('/p/q').buffer(Buffer.from('y')).int(-1))).err, 0)
  t.equal(c.events.length, 1, 'removed watch is silent')
  const mr = await c.request(13, OpCode.multiRead, (w) => {
    w.int(OpCode.getData).boolean(false).int(-1).ustring('/p/q')
    w.int(OpCode.getChildren).boolean(false).int(-1).ustring('/p')
    w.int(OpCode.getData).boolean(false).int(-1).ustring('/missing')
    w.int(-1).boolean(true).int(-1)
  })
  t.equal(mr.err, 0)
  t.same([mr.r.int(), mr.r.boolean(), mr.r.int()], [OpCode.getData, false, 0])
  t.equal(mr.r.buffer().toString(), 'y')
  c.socket.destroy()
})
