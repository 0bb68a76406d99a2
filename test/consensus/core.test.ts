/**
 * Goal: the RaftCore's behaviours, one at a time: election with pre-vote, replication and
 * forwarding, durability before acknowledgement, check-quorum, lease against disruptive peers,
 * early campaigns when the transport loses the leader (and no disruption when it was wrong),
 * ReadIndex, leadership transfer, compaction and chunked snapshot transfer.
 * Method: cores driven synchronously by a tiny in-process harness (synchronous persistence,
 * instant delivery, selectable cut links); no timers, no sleeps, no ports.
 */
import t from 'tap'
import { RaftCore } from '../../lib/consensus/core.js'
import type { Message, SnapMessage } from '../../lib/consensus/messages.js'
import type { Entry, ReadState, Ready, SnapshotMeta } from '../../lib/consensus/types.js'
import { seededRandom } from '../../lib/env.js'

const enc = new TextEncoder()
const dec = new TextDecoder()

/** A synchronous ensemble: every Ready is persisted instantly, its messages queued for delivery. */
class Harness {
  readonly cores = new Map<string, RaftCore>()
  readonly applied = new Map<string, string[]>()
  readonly reads = new Map<string, ReadState[]>()
  /** Term of each core's last applied entry, for the snapshots its host takes. */
  readonly appliedTerm = new Map<string, number>()
  readonly cut = new Set<string>()
  /** Every message delivered, in order (for counting what a transfer took). */
  readonly delivered: Message[] = []
  /** Bytes of the snapshot each core is receiving, joined from its Readies' pieces. */
  private readonly receiving = new Map<string, Uint8Array>()
  private queue: Message[] = []

  /** takeSnapshot calls that answer "not ready yet" before the host has one (per core). */
  readonly snapshotsNotReady = new Map<string, number>()
  /** With `growing`: each core's snapshot handed over with nothing written; tests write more. */
  readonly growing = new Map<string, { readonly data: Uint8Array, written: number }>()

  constructor (readonly ids: string[], opts: { compactRetainEntries?: number, snapshotChunkBytes?: number, maxInflightBytes?: number, snapshotDelayCalls?: number, growing?: boolean } = {}) {
    const { snapshotDelayCalls = 0, growing = false, ...coreOpts } = opts
    const rnd = seededRandom(42)
    for (const id of ids) {
      this.cores.set(id, new RaftCore({
        id, voters: ids, random: (a, b) => rnd.intInclusive(a, b), paranoid: true,
        durable: { hardState: { term: 0, vote: null, commit: 0 }, snapshot: undefined, entries: [] },
        takeSnapshot: () => {
          const waited = this.snapshotsNotReady.get(id) ?? 0
          if (waited < snapshotDelayCalls) {
            this.snapshotsNotReady.set(id, waited + 1)
            return undefined
          }
          const meta = { index: this.core(id).status().applied, term: this.appliedTerm.get(id) ?? 0, voters: ids }
          const data = enc.encode(JSON.stringify(this.applied.get(id)))
          if (!growing) return { meta, data }
          const g = { data, written: 0 }
          this.growing.set(id, g)
          return { meta, data, written: () => g.written }
        },
        ...coreOpts,
      }))
      this.applied.set(id, [])
      this.reads.set(id, [])
    }
  }

  core (id: string): RaftCore {
    const c = this.cores.get(id)
    if (c === undefined) throw new Error(id)
    return c
  }

  /** Processes Readys and delivers messages until quiet. */
  settle (): void {
    for (let rounds = 0; rounds < 10_000; rounds++) {
      let busy = false
      for (const [id, core] of this.cores) {
        if (this.cut.has(id) || !core.hasReady()) continue
        busy = true
        this.handle(id, core, core.ready())
      }
      const q = this.queue
      this.queue = []
      for (const m of q) {
        if (this.cut.has(m.from) || this.cut.has(m.to)) continue
        busy = true
        this.delivered.push(m)
        this.core(m.to).step(m)
      }
      if (!busy) return
    }
    throw new Error('did not settle')
  }

  handle (id: string, core: RaftCore, rd: Ready): void {
    if (rd.snapshotAbandoned) this.receiving.delete(id)
    for (const p of rd.snapshotPieces) {
      const held = p.offset === 0 ? new Uint8Array(0) : this.receiving.get(id)
      if (held?.length !== p.offset) throw new Error(`${id}: piece at ${p.offset} does not follow ${held?.length ?? 'nothing'}`)
      const joined = new Uint8Array(held.length + p.data.length)
      joined.set(held)
      joined.set(p.data, held.length)
      this.receiving.set(id, joined)
    }
    if (rd.snapshot !== undefined) {
      const data = this.receiving.get(id)
      this.receiving.delete(id)
      if (data === undefined) throw new Error(`${id}: a snapshot without pieces`)
      this.applied.set(id, JSON.parse(dec.decode(data)) as string[])
      this.appliedTerm.set(id, rd.snapshot.term)
    }
    for (const m of rd.messages) this.queue.push(m as Message)
    for (const e of rd.committed) {
      if (e.data.length > 0) this.applied.get(id)?.push(dec.decode(e.data))
      this.appliedTerm.set(id, e.term)
    }
    this.reads.get(id)?.push(...rd.readStates)
    core.advance(rd)
  }

  tick (n: number): void {
    for (let i = 0; i < n; i++) {
      for (const [id, core] of this.cores) if (!this.cut.has(id)) core.tick()
      this.settle()
    }
  }

  leader (): string | undefined {
    return this.ids.find((id) => !this.cut.has(id) && this.core(id).status().role === 'leader')
  }

  elect (): string {
    for (let i = 0; i < 100 && this.leader() === undefined; i++) this.tick(1)
    const l = this.leader()
    if (l === undefined) throw new Error('no leader')
    return l
  }
}

t.test('elects one leader with pre-vote, commits its no-op, replicates proposals', async (t) => {
  const h = new Harness(['a', 'b', 'c'])
  t.equal(h.core('a').propose(enc.encode('x')), false, 'no leader yet: refused')
  const l = h.elect()
  t.equal(h.ids.filter((id) => h.core(id).status().role === 'leader').length, 1)
  const st = h.core(l).status()
  t.equal(st.term, 1, 'pre-vote did not burn terms')
  t.equal(st.commit, 1, 'the no-op committed')
  const f = h.ids.find((id) => id !== l) ?? ''
  t.ok(h.core(l).propose(enc.encode('p1')))
  t.ok(h.core(f).propose(enc.encode('p2')), 'a follower forwards')
  h.settle()
  h.tick(1)
  for (const id of h.ids) t.same(h.applied.get(id), ['p1', 'p2'], `${id} applied both in order`)
  t.equal(h.core(l).status().progress[f].lagEntries, 0)
})

t.test('an append is acknowledged only in the Ready that persists it', async (t) => {
  const h = new Harness(['a', 'b', 'c'])
  const l = h.elect()
  const f = h.ids.find((id) => id !== l) ?? ''
  h.core(l).propose(enc.encode('d'))
  const rd = h.core(l).ready()
  const app = rd.messages.find((m) => m.to === f) as Message
  t.equal(app.type, 'app')
  h.core(l).advance(rd)
  h.core(f).step(app)
  const frd = h.core(f).ready()
  const resp = frd.messages.find((m) => m.type === 'appResp')
  t.ok(resp, 'the ack is in the Ready')
  t.ok(frd.entries.some((e: Entry) => dec.decode(e.data) === 'd'), 'with the entries it acknowledges')
  h.core(f).advance(frd)
})

t.test('the leader counts its own log only after advance', async (t) => {
  const h = new Harness(['a'])
  h.elect()
  const core = h.core('a')
  core.propose(enc.encode('solo'))
  const rd = core.ready()
  t.equal(core.status().commit, 1, 'not committed before its Ready is advanced')
  core.advance(rd)
  t.equal(core.status().commit, 2, 'committed once durable')
})

t.test('asynchronous writes: the leader counts its own log only once persisted, however many Readies later', async (t) => {
  const h = new Harness(['a'])
  h.elect()
  const core = h.core('a')
  core.propose(enc.encode('one'))
  const rd1 = core.ready()
  core.advance(rd1, { durable: false })
  core.propose(enc.encode('two'))
  t.ok(core.hasReady(), 'the next Ready may be taken while the first write is in flight')
  const rd2 = core.ready()
  core.advance(rd2, { durable: false })
  t.equal(core.status().commit, 1, 'nothing committed while both writes are in flight')
  t.notOk(core.hasReady(), 'and nothing to do')
  core.persisted(rd1)
  t.equal(core.status().commit, 2, 'the first write durable: its entry commits, not the second')
  core.persisted(rd2)
  t.equal(core.status().commit, 3, 'the second write durable: its entry commits')
  const rd3 = core.ready()
  t.same(rd3.committed.map((e) => dec.decode(e.data)), ['one', 'two'], 'both handed out to apply')
  t.throws(() => { core.persisted(rd3) }, 'a Ready is reported durable only after it was advanced')
})

t.test('check-quorum: an isolated leader steps down; pre-vote: a returning peer does not disrupt', async (t) => {
  const h = new Harness(['a', 'b', 'c'])
  const l = h.elect()
  const termBefore = h.core(l).status().term
  h.cut.add(l)
  for (let i = 0; i < 25; i++) h.core(l).tick()
  t.equal(h.core(l).status().role, 'follower', 'stepped down')
  h.cut.delete(l)
  const l2 = h.elect()
  // Isolate a follower long enough to campaign alone: pre-vote keeps its term.
  const f = h.ids.find((id) => id !== l2) ?? ''
  const term = h.core(l2).status().term
  h.cut.add(f)
  for (let i = 0; i < 100; i++) h.core(f).tick()
  t.equal(h.core(f).status().term, term, 'no term inflation while isolated')
  h.cut.delete(f)
  h.tick(5)
  t.equal(h.leader(), l2, 'the healthy leader stays')
  t.equal(h.core(l2).status().term, term)
  t.ok(term > termBefore)
})

t.test('a lost leader: followers told by their transport elect a new one without waiting out a timeout', async (t) => {
  const h = new Harness(['a', 'b', 'c'])
  const old = h.elect()
  h.tick(3)
  const term = h.core(old).status().term
  const [first, second] = h.ids.filter((id) => id !== old) as [string, string]
  h.cut.add(old)
  // Both followers hear of it, the later-ranked one first: it must wait for the lowest id.
  h.core(second).peerDisconnected(old)
  h.core(first).peerDisconnected(old)
  h.settle()
  t.equal(h.leader(), first, 'the lowest remaining id leads, with no tick elapsed')
  t.equal(h.core(first).status().term, term + 1, 'one election, no split vote')
  t.equal(h.core(second).status().leaderId, first)
  t.ok(h.core(second).propose(enc.encode('after')), 'the other follower forwards to the new leader')
  h.settle()
  t.same(h.applied.get(second)?.at(-1), 'after')
})

t.test('a lost leader reported to one follower only: it campaigns after its stagger, the lease holds elsewhere', async (t) => {
  const h = new Harness(['a', 'b', 'c'])
  const old = h.elect()
  h.tick(3)
  const term = h.core(old).status().term
  const later = h.ids.filter((id) => id !== old)[1] as string
  h.core(later).peerDisconnected(old)
  t.equal(h.core(later).status().role, 'follower', 'not the lowest id: it waits')
  t.equal(h.core(later).status().leaderId, undefined, 'but no longer counts on the leader')
  t.equal(h.core(later).propose(enc.encode('x')), false, 'so it refuses proposals')
  // The leader is in fact alive: its messages are ignored for two ticks (they could be late
  // ones from before a death), the pre-vote finds no taker, then its heartbeat wins it back.
  h.tick(2)
  t.equal(h.core(later).status().leaderId, old, 'back with the live leader')
  h.tick(25)
  t.equal(h.leader(), old, 'no leader change')
  t.equal(h.core(old).status().term, term, 'no term change')

  // Now the leader is really gone, yet only this follower's transport noticed.
  h.cut.add(old)
  h.core(later).peerDisconnected(old)
  for (const id of h.ids) if (id !== old) h.core(id).tick()
  h.settle()
  t.equal(h.core(later).status().role, 'follower', 'still waiting after one tick')
  for (const id of h.ids) if (id !== old) h.core(id).tick()
  h.settle()
  t.equal(h.core(later).status().role, 'precandidate', 'campaigns after its stagger')
  t.equal(h.core(later).status().term, term, 'the other follower, still in its lease, gave no pre-vote')
  t.ok(h.elect() !== old, 'a new leader once the lease expires')
})

t.test('a wrong report about a live leader disrupts nothing', async (t) => {
  const h = new Harness(['a', 'b', 'c'])
  const l = h.elect()
  h.tick(3)
  const term = h.core(l).status().term
  for (const f of h.ids.filter((id) => id !== l)) {
    h.core(f).peerDisconnected(l)
    h.settle()
  }
  h.core(l).peerDisconnected(h.ids.find((id) => id !== l) as string)
  h.tick(30)
  t.equal(h.leader(), l, 'the same leader')
  for (const id of h.ids) t.equal(h.core(id).status().term, term, `${id}: no term change`)
})

t.test('ReadIndex on the leader and through a follower', async (t) => {
  const h = new Harness(['a', 'b', 'c'])
  const l = h.elect()
  const f = h.ids.find((id) => id !== l) ?? ''
  h.core(l).propose(enc.encode('w'))
  h.settle()
  t.ok(h.core(l).readIndex('r1'))
  t.ok(h.core(f).readIndex('r2'))
  h.settle()
  h.tick(1)
  const commit = h.core(l).status().commit
  t.same(h.reads.get(l), [{ ctx: 'r1', index: commit }])
  t.same(h.reads.get(f), [{ ctx: 'r2', index: commit }])
})

t.test('leadership transfer', async (t) => {
  const h = new Harness(['a', 'b', 'c'])
  const l = h.elect()
  const target = h.ids.find((id) => id !== l) ?? ''
  t.ok(h.core(l).transferLeadership(target))
  t.equal(h.core(l).propose(enc.encode('x')), false, 'proposals refused during transfer')
  h.settle()
  t.equal(h.leader(), target)
  t.equal(h.core(target).status().role, 'leader')
})

/**
 * Elects a leader, cuts one follower off while 20 entries commit, compacts the leader's whole
 * log and reconnects the follower: it can then catch up only by snapshot.
 */
function followerBehindCompaction (h: Harness): { l: string, f: string } {
  const l = h.elect()
  const f = h.ids.find((id) => id !== l) ?? ''
  h.cut.add(f)
  for (let i = 0; i < 20; i++) h.core(l).propose(enc.encode(`e${i}`))
  h.settle()
  h.tick(1)
  const st = h.core(l).status()
  h.core(l).compact({ index: st.applied, term: st.term, voters: h.ids })
  h.cut.delete(f)
  return { l, f }
}

t.test('a follower behind the compacted log gets the snapshot in chunks', async (t) => {
  const h = new Harness(['a', 'b', 'c'], { compactRetainEntries: 0, snapshotChunkBytes: 16 })
  const { l, f } = followerBehindCompaction(h)
  // Appends lost while it was cut are declared lost after an election timeout, then re-probed.
  h.tick(15)
  t.same(h.applied.get(f), h.applied.get(l), 'follower caught up through the snapshot')
  t.equal(h.core(f).status().commit, h.core(l).status().commit)
  h.core(l).propose(enc.encode('after'))
  h.settle()
  h.tick(1)
  t.equal(h.applied.get(f)?.at(-1), 'after', 'and then from the log')
})

t.test('a stored snapshot older than the in-memory compaction keeps no entries and changes nothing', async (t) => {
  // A durable host compacts the core's log on its own, ahead of its slower stored snapshots.
  const h = new Harness(['a', 'b', 'c'], { compactRetainEntries: 0 })
  const l = h.elect()
  for (let i = 0; i < 10; i++) h.core(l).propose(enc.encode(`e${i}`))
  h.settle()
  h.tick(1)
  const st = h.core(l).status()
  const older = { index: st.applied - 5, term: st.term, voters: h.ids }
  t.equal(h.core(l).compact({ index: st.applied, term: st.term, voters: h.ids }), 0, 'nothing retained')
  t.equal(h.core(l).compact(older), 0, 'an older snapshot: none of its entries are still held')
  h.core(l).propose(enc.encode('after'))
  h.settle()
  h.tick(1)
  for (const id of h.ids) t.equal(h.applied.get(id)?.at(-1), 'after', `${id} still replicates`)
})

t.test('a host that has no snapshot ready yet is asked again on later heartbeats', async (t) => {
  const h = new Harness(['a', 'b', 'c'], { compactRetainEntries: 0, snapshotChunkBytes: 16, snapshotDelayCalls: 3 })
  const { l, f } = followerBehindCompaction(h)
  h.tick(20)
  t.equal(h.snapshotsNotReady.get(l), 3, 'asked until the host had one')
  t.same(h.applied.get(f), h.applied.get(l), 'follower caught up through the snapshot')
})

t.test('snapshot chunks are pipelined up to the in-flight byte limit', async (t) => {
  const h = new Harness(['a', 'b', 'c'], { compactRetainEntries: 0, snapshotChunkBytes: 16, maxInflightBytes: 64 })
  const { l, f } = followerBehindCompaction(h)
  let inFlight = 0
  let most = 0
  let chunks = 0
  const seen = h.delivered.length
  h.tick(15)
  for (const m of h.delivered.slice(seen)) {
    if (m.type === 'snap' && m.to === f) { inFlight++; chunks++ }
    if (m.type === 'snapResp' && m.from === f) inFlight--
    most = Math.max(most, inFlight)
  }
  t.equal(most, 4, 'four 16-byte chunks before the first acknowledgement, never more')
  t.ok(chunks > 4, 'the snapshot took more chunks than one window')
  t.same(h.applied.get(f), h.applied.get(l), 'follower caught up through the snapshot')
})

t.test('a host that has a snapshot ready after all says so, and is asked again at once', async (t) => {
  const h = new Harness(['a', 'b', 'c'], { compactRetainEntries: 0, snapshotChunkBytes: 16, snapshotDelayCalls: 1000 })
  const { l, f } = followerBehindCompaction(h)
  h.tick(15)
  t.ok((h.snapshotsNotReady.get(l) ?? 0) > 0, 'asked, and told none is ready')
  t.notSame(h.applied.get(f), h.applied.get(l), 'not caught up yet')
  // The host has one now.
  h.snapshotsNotReady.set(l, 1000)
  h.core(l).snapshotWritten()
  h.settle()
  t.same(h.applied.get(f), h.applied.get(l), 'caught up through the snapshot without waiting for a heartbeat')
})

t.test('a snapshot the host is still writing goes out as it grows, and no further', async (t) => {
  const h = new Harness(['a', 'b', 'c'], { compactRetainEntries: 0, snapshotChunkBytes: 16, growing: true })
  const { l, f } = followerBehindCompaction(h)
  h.tick(15)
  const sent = (): SnapMessage[] => h.delivered.filter((m): m is SnapMessage => m.type === 'snap' && m.to === f)
  const g = h.growing.get(l)
  if (g === undefined) throw new Error('the leader was asked for no snapshot')
  t.equal(sent().length, 0, 'nothing written yet: nothing sent, through heartbeats and their answers')
  const total = g.data.length
  t.ok(total > 40, 'a snapshot of several steps')
  for (let w = 5; ; w = Math.min(total, w + 7)) {
    g.written = w
    h.core(l).snapshotWritten()
    h.settle()
    const chunks = sent()
    t.equal(Math.max(...chunks.map((c) => c.offset + c.data.length)), w, `sent up to the ${w} bytes written, without waiting for a tick`)
    t.ok(chunks.every((c) => c.totalBytes === total && c.done === (c.offset + c.data.length === total)), 'each chunk names the final size; only the last is done')
    if (w === total) break
  }
  t.same(h.applied.get(f), h.applied.get(l), 'follower caught up through the snapshot')
})

/** A fresh follower core, for feeding it hand-made snapshot chunks. */
function lone (): RaftCore {
  return new RaftCore({
    id: 'f',
    voters: ['a', 'b', 'f'],
    random: seededRandom(7).intInclusive,
    durable: { hardState: { term: 0, vote: null, commit: 0 }, snapshot: undefined, entries: [] },
  })
}

function chunk (term: number, from: string, meta: SnapshotMeta, offset: number, data: string, total: number): SnapMessage {
  const bytes = enc.encode(data)
  return { type: 'snap', from, to: 'f', term, meta, offset, totalBytes: total, data: bytes, done: offset + bytes.length === total }
}

/** Takes and advances the next Ready: what it carried of the transfer, and the answers. */
function drain (core: RaftCore): { pieces: string[], abandoned: boolean, snapshot: SnapshotMeta | undefined, answers: string[] } {
  const rd = core.ready()
  core.advance(rd)
  return {
    pieces: rd.snapshotPieces.map((p) => `${p.offset}:${dec.decode(p.data)}`),
    abandoned: rd.snapshotAbandoned,
    snapshot: rd.snapshot,
    answers: rd.messages.map((m) => {
      const r = m as Message
      return r.type === 'snapResp' ? `snapResp ${r.offset}` : r.type === 'appResp' ? `appResp ${r.index}` : r.type
    }),
  }
}

t.test('a snapshot chunk that does not fit its transfer starts it over instead of failing the follower', async (t) => {
  const meta = { index: 10, term: 1, voters: ['a', 'b', 'f'] }
  const bad: Array<[string, SnapMessage]> = [
    ['another total size', { ...chunk(1, 'a', meta, 4, 'efgh', 12), totalBytes: 16 }],
    ['past the total size', chunk(1, 'a', meta, 4, 'efghijklm', 12)],
    ['done before the end', { ...chunk(1, 'a', meta, 4, 'efgh', 12), done: true }],
    ['not done at the end', { ...chunk(1, 'a', meta, 4, 'efghijkl', 12), done: false }],
  ]
  for (const [what, m] of bad) {
    const f = lone()
    f.step(chunk(1, 'a', meta, 0, 'abcd', 12))
    drain(f)
    t.doesNotThrow(() => f.step(m), what)
    const r = drain(f)
    t.ok(r.abandoned, `${what}: the pieces so far are to be discarded`)
    t.same(r.pieces, [])
    t.notOk(r.snapshot, `${what}: nothing installed`)
    t.same(r.answers, ['snapResp 0'], `${what}: the leader is asked to start over`)
  }
})

t.test('a follower hands snapshot chunks over as pieces, in order, and installs only a complete transfer of one term', async (t) => {
  const f = lone()
  const meta = { index: 10, term: 1, voters: ['a', 'b', 'f'] }
  f.step(chunk(1, 'a', meta, 0, 'abcd', 12))
  f.step(chunk(1, 'a', meta, 8, 'ijkl', 12))
  let r = drain(f)
  t.same(r.pieces, ['0:abcd'], 'the chunk in order is handed over, the one after a gap is not')
  t.same(r.answers, ['snapResp 4', 'snapResp 4'], 'both answered with the offset held')
  t.notOk(r.snapshot)

  // A new leader (term 2) sends the same snapshot: the transfer of term 1 cannot go on.
  f.step(chunk(2, 'b', meta, 4, 'efgh', 12))
  r = drain(f)
  t.ok(r.abandoned, 'the pieces of term 1 are to be discarded')
  t.same(r.pieces, [])
  t.same(r.answers, ['snapResp 0'], 'the new leader is asked to start over')

  f.step(chunk(2, 'b', meta, 0, 'ABCD', 12))
  f.step(chunk(2, 'b', meta, 4, 'EFGH', 12))
  r = drain(f)
  t.same(r.pieces, ['0:ABCD', '4:EFGH'])
  t.notOk(r.abandoned)
  t.notOk(r.snapshot, 'not installed before the last chunk')
  f.step(chunk(2, 'b', meta, 8, 'IJKL', 12))
  // A later snapshot's first chunk before the host took the completed one: dropped, not mixed in.
  f.step(chunk(2, 'b', { ...meta, index: 20 }, 0, 'zzzz', 12))
  r = drain(f)
  t.same(r.pieces, ['8:IJKL'])
  t.same(r.snapshot, meta, 'complete: installed')
  t.same(r.answers, ['appResp 10'], 'acknowledged as the log up to its index')
  t.equal(f.status().commit, 10)

  // Chunks of a snapshot the log already covers are answered with the commit index.
  f.step(chunk(2, 'b', meta, 0, 'ABCD', 12))
  r = drain(f)
  t.same(r.pieces, [])
  t.same(r.answers, ['appResp 10'])
})

t.test('a newer snapshot replaces a partial transfer; one the log reaches meanwhile is discarded', async (t) => {
  const f = lone()
  const meta = { index: 10, term: 1, voters: ['a', 'b', 'f'] }
  f.step(chunk(1, 'a', meta, 0, 'abcd', 8))
  t.same(drain(f).pieces, ['0:abcd'])
  const newer = { ...meta, index: 12 }
  f.step(chunk(1, 'a', newer, 0, 'wxyz', 8))
  let r = drain(f)
  t.ok(r.abandoned, 'the older transfer is discarded')
  t.same(r.pieces, ['0:wxyz'], 'and the newer one starts')
  // Entries up to the snapshot's index commit through the log before the transfer ends.
  const entries = Array.from({ length: 12 }, (_, i) => ({ term: 1, index: i + 1, data: enc.encode(`e${i + 1}`) }))
  f.step({ type: 'app', from: 'a', to: 'f', term: 1, index: 0, logTerm: 0, entries, commit: 12 })
  drain(f)
  f.step(chunk(1, 'a', newer, 4, 'WXYZ', 8))
  r = drain(f)
  t.ok(r.abandoned, 'the partial transfer is discarded')
  t.same(r.pieces, [])
  t.notOk(r.snapshot, 'nothing to install: the log has it')
  t.same(r.answers, ['appResp 12'])
})

t.test('a follower whose acknowledgement is still on its way learns of the commit from the next notice', async (t) => {
  const h = new Harness(['a', 'b', 'c'])
  const l = h.elect()
  const [f, g] = h.ids.filter((id) => id !== l) as [string, string]
  h.core(l).propose(enc.encode('x'))
  const rd = h.core(l).ready()
  h.core(l).advance(rd)
  for (const m of rd.messages) h.core(m.to).step(m as Message)
  // f's write is slow: its Ready, with the acknowledgement in it, is not done yet.
  const frd = h.core(f).ready()
  h.core(f).advance(frd, { durable: false })
  const grd = h.core(g).ready()
  h.core(g).advance(grd)
  for (const m of grd.messages) h.core(m.to).step(m as Message)
  const lrd = h.core(l).ready()
  t.same(lrd.committed.map((e) => dec.decode(e.data)), ['x'], 'the leader and g commit it')
  const notice = (lrd.messages as readonly Message[]).find((m) => m.to === f && m.type === 'hb')
  t.ok(notice, 'f is sent a commit notice in the same Ready')
  h.core(l).advance(lrd)
  h.core(f).step(notice as Message)
  const frd2 = h.core(f).ready()
  t.same(frd2.committed.map((e) => dec.decode(e.data)), ['x'], 'f applies it before its acknowledgement reached the leader')
  h.core(f).advance(frd2)
})

t.test('a commit notice past the match commits only a follower holding that entry with its term', async (t) => {
  const follower = (): RaftCore => new RaftCore({
    id: 'b', voters: ['a', 'b', 'c'], random: (lo) => lo, paranoid: true,
    durable: { hardState: { term: 1, vote: null, commit: 0 }, snapshot: undefined, entries: [{ index: 1, term: 1, data: enc.encode('old') }] },
  })
  const hb = (aheadTerm: number): Message => ({ type: 'hb', from: 'a', to: 'b', term: 2, commit: 0, seq: 0, ahead: 1, aheadTerm })
  const stale = follower()
  stale.step(hb(2))
  t.equal(stale.status().commit, 0, 'an entry of another term at that index is not committed')
  const holding = follower()
  holding.step(hb(1))
  t.equal(holding.status().commit, 1, 'the same entry is')
})

t.test('a lagging follower with a conflicting suffix is repaired', async (t) => {
  const h = new Harness(['a', 'b', 'c'])
  const l = h.elect()
  const others = h.ids.filter((id) => id !== l)
  // The leader appends entries nobody else gets, then loses leadership.
  h.cut.add(others[0]); h.cut.add(others[1])
  for (let i = 0; i < 30; i++) h.core(l).propose(enc.encode(`lost${i}`))
  h.settle()
  h.cut.delete(others[0]); h.cut.delete(others[1])
  h.cut.add(l)
  const l2 = h.elect()
  h.core(l2).propose(enc.encode('kept'))
  h.settle()
  h.cut.delete(l)
  h.tick(30)
  for (const id of h.ids) t.same(h.applied.get(id), ['kept'], `${id} has the new leader's history only`)
})
