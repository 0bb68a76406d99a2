/**
 * Goal: the Peer's asynchronous writes never let a message leave before the state it vouches
 * for is durable: an append acknowledgement only once its entries are durable on its sender,
 * a vote only once the vote is; and the leader never answers a write that a quorum does not hold
 * durably. Writes completing late (several batches in flight at once) must not change that.
 * Method: three Peers in one process on a private MemoryNetwork; each storage is a
 * VolatileStorage behind a gate that makes writes durable only some turns of the event loop
 * later, in order, and records what is durable; each transport is wrapped to check every
 * message against its sender's durable state at the moment it is sent, and to deliver appends
 * a second time a turn later. No timing is asserted.
 */
import t from 'tap'
import { Peer } from '../../lib/index.js'
import { silentLogger } from '../../lib/env.js'
import type { Message } from '../../lib/consensus/messages.js'
import type { Entry, HardState, Snapshot } from '../../lib/consensus/types.js'
import { MemoryNetwork, type TransportFactory } from '../../transports/index.js'
import { VolatileStorage } from '../../storage/index.js'
import type { RecoveredState, Storage, StorageWrite } from '../../storage/storage.js'

/** Turns of the event loop a write waits before it becomes durable. */
const DELAY_TURNS = 3

const turns = async (n: number): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise<void>((resolve) => { setImmediate(resolve) })
}

/**
 * A storage whose writes become durable late, in call order, and which knows what is durable:
 * the durable term, vote and, per index, the term of each durable entry.
 */
class LateStorage implements Storage {
  readonly #inner = new VolatileStorage()
  #queue: Promise<void> = Promise.resolve()
  durableHard: HardState = { term: 0, vote: null, commit: 0 }
  readonly durableTerms = new Map<number, number>()
  inFlightMax = 0
  #inFlight = 0

  open (): Promise<RecoveredState> { return this.#inner.open() }

  write (w: StorageWrite): Promise<void> {
    const entries = [...(w.entries ?? [])]
    this.#inFlight++
    this.inFlightMax = Math.max(this.inFlightMax, this.#inFlight)
    const done = this.#queue.then(async () => {
      await turns(DELAY_TURNS)
      await this.#inner.write({ ...w, entries })
      if (w.hardState !== undefined) this.durableHard = w.hardState
      if (w.snapshot !== undefined) this.durableTerms.clear()
      if (entries.length > 0) {
        for (const index of [...this.durableTerms.keys()]) if (index >= entries[0]!.index) this.durableTerms.delete(index)
        for (const e of entries) this.durableTerms.set(e.index, e.term)
      }
      this.#inFlight--
    })
    this.#queue = done
    return done
  }

  compact (snapshot: Snapshot, keepEntries: number): Promise<void> {
    const done = this.#queue.then(() => this.#inner.compact(snapshot, keepEntries))
    this.#queue = done
    return done
  }

  entries (from: number, to: number): Promise<Entry[]> { return this.#inner.entries(from, to) }
  close (): Promise<void> { return this.#queue.then(() => this.#inner.close()) }
}

t.test('acknowledgements and votes leave only once durable, with many writes in flight', async (t) => {
  const net = new MemoryNetwork()
  const ensemble = { a: 'memory://order-a', b: 'memory://order-b', c: 'memory://order-c' }
  const storages = new Map<string, LateStorage>()
  const violations: string[] = []
  const seen = { appResp: 0, voteResp: 0 }

  /** Checks a consensus message against its sender's durable state as it is sent. */
  const check = (from: string, m: Message): void => {
    const s = storages.get(from)!
    if (m.type === 'appResp' && !m.reject) {
      seen.appResp++
      if (m.index > 0 && !s.durableTerms.has(m.index)) violations.push(`${from} acknowledged entry ${m.index} before it was durable`)
    }
    if (m.type === 'voteResp' && !m.reject) {
      seen.voteResp++
      if (s.durableHard.term !== m.term || s.durableHard.vote !== m.to) {
        violations.push(`${from} granted its vote in term ${m.term} to ${m.to} before it was durable (durable: ${JSON.stringify(s.durableHard)})`)
      }
    }
  }
  const transport: TransportFactory = async (options, onMessage, onPeerLost) => {
    const inner = await net.transport(options, onMessage, onPeerLost)
    return {
      listenUrl: inner.listenUrl,
      stop: () => inner.stop(),
      send: (to, message) => {
        const envelope = message as { k?: string, m?: Message }
        if (envelope.k === 'raft' && envelope.m !== undefined) check(options.id, envelope.m)
        // Appends are delivered twice: the copy finds its entries already in the follower's log,
        // and its acknowledgement comes in a Ready that writes nothing, while the write of the
        // first copy may still be in flight.
        if (envelope.m?.type === 'app') setImmediate(() => inner.send(to, message))
        return inner.send(to, message)
      },
    }
  }
  const peers: Peer[] = []
  for (const id of Object.keys(ensemble)) {
    const storage = new LateStorage()
    storages.set(id, storage)
    peers.push(await Peer.start({ id, listen: ensemble[id as 'a'], ensemble, transport, storage, tickMs: 10, log: silentLogger }))
  }
  t.teardown(async () => { for (const p of peers) await p.stop() })
  await Promise.all(peers.map((p) => p.ready()))

  const sessions = await Promise.all(peers.map((p) => p.connect()))
  await sessions[0]!.create('/k', 'v')
  // Many writes in flight from every peer, so that several batches are on their way to disk.
  const writes: Array<Promise<unknown>> = []
  for (let i = 0; i < 300; i++) writes.push(sessions[i % 3]!.setData('/k', Buffer.from(String(i))))
  await Promise.all(writes)

  // Each acknowledged write is durable on a quorum.
  const leader = peers.find((p) => p.role === 'leader')!
  const zxid = leader.status().zxid
  const holding = [...storages.values()].filter((s) => s.durableTerms.has(zxid))
  t.ok(holding.length >= 2, `the last acknowledged write (${zxid}) is durable on a quorum (${holding.length} peers)`)

  t.same(violations, [], 'no message left before what it vouches for was durable')
  t.ok(seen.appResp > 0 && seen.voteResp > 0, `checked ${seen.appResp} acknowledgements and ${seen.voteResp} votes`)
  t.ok(Math.max(...[...storages.values()].map((s) => s.inFlightMax)) > 1, 'several writes were in flight at once')
})
