/**
 * The conformance suite every transport passes (abstract-level style): a test file calls
 * `transportSuite({ name, createGroup })` with a way to start a fresh group of connected
 * transports, and the suite checks the contract of transports/transport.ts through it: order
 * per pair, binary payloads, large messages, frame limits, restart and reconnect, lost-peer
 * reports, secret and peer-id refusal, garbage connections, bounded queues and clean shutdown.
 *
 * Method: real transports in this process on loopback; every wait is bounded and every group
 * is stopped in teardown, so a failure cannot hang the run or leak handles into later tests.
 */
import { createHash, randomBytes } from 'node:crypto'
import t from 'tap'
import type { Logger } from '../../lib/env.js'
import type { PeerId } from '../../lib/consensus/types.js'
import type { Transport, TransportFactory } from '../../transports/transport.js'

/** Per-group knobs; arrays are indexed by peer (undefined = default). */
export interface GroupOptions {
  /** Secret of every peer. */
  readonly secret?: string
  /** Secret per peer, overriding `secret`. */
  readonly secrets?: ReadonlyArray<string | undefined>
  readonly maxFrameBytes?: ReadonlyArray<number | undefined>
  readonly maxQueueBytes?: number
  /** Indices of peers the others do not list in their `peers` (they still list everyone). */
  readonly unlisted?: readonly number[]
  /** Overrides the fast test reconnect delays of {@link TEST_TIMING}. */
  readonly reconnectMinMs?: number
  readonly reconnectMaxMs?: number
}

/** One logged record. */
export interface LogRecord {
  readonly level: 'debug' | 'info' | 'warn' | 'error'
  readonly msg: string
  readonly fields: Record<string, unknown> | undefined
}

/** A message as a peer received it. */
export interface Received {
  readonly from: PeerId
  readonly message: unknown
}

/** A running group of transports, peer i has id `p${i}` and listens on `urls[i]`. */
export interface TransportGroup {
  readonly ids: readonly PeerId[]
  readonly urls: readonly string[]
  /** Inbox of each peer, in arrival order; survives restarts. */
  readonly inbox: ReadonlyArray<Received[]>
  /** Log records of each peer; survive restarts. */
  readonly logs: ReadonlyArray<LogRecord[]>
  /** Peers each peer's transport reported lost (`onPeerLost`), in order; survives restarts. */
  readonly lost: ReadonlyArray<PeerId[]>
  /** The running transport of peer i; throws if it is stopped. */
  transport (i: number): Transport
  /** Stops peer i (idempotent). */
  stopPeer (i: number): Promise<void>
  /** Starts peer i again on its URL with its original options. */
  startPeer (i: number): Promise<void>
  /** Stops every peer. */
  stop (): Promise<void>
}

/** What a transport's test file provides. */
export interface TransportSuiteOptions {
  readonly name: string
  /** Starts a fresh group of `size` peers (fresh URLs each call). */
  readonly createGroup: (size: number, opts?: GroupOptions) => Promise<TransportGroup>
  /**
   * For network transports: opens a raw connection to `url`, writes `bytes`, and resolves true
   * if the server closes it within `timeoutMs`, false otherwise (then it closes it itself).
   */
  readonly sendRaw?: (url: string, bytes: Buffer, timeoutMs: number) => Promise<boolean>
}

/** Test timing: fast reconnects so restarts are quick, short handshakes so garbage is cut fast. */
export const TEST_TIMING = { reconnectMinMs: 10, reconnectMaxMs: 200, handshakeTimeoutMs: 2000 } as const

/**
 * Builds a {@link TransportGroup} from a factory and one listen URL per peer. Each peer lists
 * every other peer (except `unlisted` ones) with the URL it listens on.
 */
export async function startGroup (factory: TransportFactory, urls: readonly string[], opts: GroupOptions = {}): Promise<TransportGroup> {
  const ids = urls.map((_u, i) => `p${i}`)
  const inbox = urls.map((): Received[] => [])
  const logs = urls.map((): LogRecord[] => [])
  const lost = urls.map((): PeerId[] => [])
  const running: Array<Transport | undefined> = urls.map(() => undefined)
  const start = async (i: number): Promise<void> => {
    const peers: Record<PeerId, string> = {}
    urls.forEach((url, j) => { if (j === i || !(opts.unlisted ?? []).includes(j)) peers[ids[j] as string] = url })
    running[i] = await factory({
      id: ids[i] as string,
      listen: urls[i] as string,
      peers,
      secret: opts.secrets === undefined ? opts.secret : opts.secrets[i],
      maxFrameBytes: opts.maxFrameBytes?.[i],
      maxQueueBytes: opts.maxQueueBytes,
      log: capture(logs[i] as LogRecord[]),
      ...TEST_TIMING,
      ...(opts.reconnectMinMs === undefined ? {} : { reconnectMinMs: opts.reconnectMinMs }),
      ...(opts.reconnectMaxMs === undefined ? {} : { reconnectMaxMs: opts.reconnectMaxMs }),
    }, (from, message) => { (inbox[i] as Received[]).push({ from, message }) }, (peer) => { (lost[i] as PeerId[]).push(peer) })
  }
  const stopPeer = async (i: number): Promise<void> => {
    const tr = running[i]
    running[i] = undefined
    await tr?.stop()
  }
  const group: TransportGroup = {
    ids,
    urls,
    inbox,
    logs,
    lost,
    transport (i) {
      const tr = running[i]
      if (tr === undefined) throw new Error(`peer ${i} is not running`)
      return tr
    },
    stopPeer,
    startPeer: start,
    stop: async () => { await Promise.all(urls.map((_u, i) => stopPeer(i))) },
  }
  try {
    for (let i = 0; i < urls.length; i++) await start(i)
  } catch (err) {
    await group.stop()
    throw err
  }
  return group
}

function capture (into: LogRecord[]): Logger {
  const at = (level: LogRecord['level']) => (msg: string, fields?: Record<string, unknown>): void => {
    into.push({ level, msg, fields })
    if (process.env.ZKPEER_LOG === 'debug') console.error(level, msg, fields)
  }
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }
}

/** Polls `cond` every few ms; throws naming `what` if it is still false after `timeoutMs`. */
export async function waitFor (cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(5)
  }
}

/** Resolves after `ms`. */
export function sleep (ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Sends `make(n)` to `to` on every poll until `until()` holds, bounded; returns sends made. */
async function sendUntil (tr: () => Transport, to: PeerId, make: (n: number) => unknown, until: () => boolean, what: string): Promise<number> {
  let n = 0
  await waitFor(() => until() || (tr().send(to, make(n++)) && false), what, 8000)
  return n
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')
const warnings = (g: TransportGroup, i: number): string => (g.logs[i] ?? [])
  .filter((r) => r.level === 'warn').map((r) => `${r.msg} ${JSON.stringify(r.fields)}`).join('\n')

/** Handle types a transport may hold; after stop() none may remain beyond the baseline. */
const HANDLE_TYPES = ['TCPServerWrap', 'TCPSocketWrap', 'TLSWrap', 'Timeout', 'Immediate']

function handleCounts (): Map<string, number> {
  const counts = new Map<string, number>()
  for (const type of process.getActiveResourcesInfo()) {
    if (HANDLE_TYPES.includes(type)) counts.set(type, (counts.get(type) ?? 0) + 1)
  }
  return counts
}

/** Registers the conformance tests for one transport. */
export function transportSuite (s: TransportSuiteOptions): void {
  const group = async (tt: { teardown (fn: () => Promise<void>): void }, size: number, opts?: GroupOptions): Promise<TransportGroup> => {
    const g = await s.createGroup(size, opts)
    tt.teardown(() => g.stop())
    return g
  }

  t.test(`${s.name}: messages arrive in order between every pair`, async (tt) => {
    const g = await group(tt, 3)
    const perPair = 300
    let refused = 0
    for (let n = 0; n < perPair; n++) {
      for (let i = 0; i < 3; i++) {
        for (let j = 0; j < 3; j++) {
          if (i !== j && !g.transport(i).send(g.ids[j] as string, { n, text: 'x'.repeat(n % 50) })) refused++
        }
      }
    }
    tt.equal(refused, 0, 'every send accepted')
    await waitFor(() => g.inbox.every((box) => box.length === 2 * perPair), 'all messages')
    for (let j = 0; j < 3; j++) {
      for (const from of g.ids) {
        if (from === g.ids[j]) continue
        const seq = (g.inbox[j] ?? []).filter((r) => r.from === from).map((r) => (r.message as { n: number }).n)
        tt.same(seq, Array.from({ length: perPair }, (_x, n) => n), `${from} → ${g.ids[j]} in order`)
      }
    }
    tt.equal(g.transport(0).send('nobody', {}), false, 'unknown peer is refused')
  })

  t.test(`${s.name}: binary payloads survive as bytes`, async (tt) => {
    const g = await group(tt, 2)
    const data = new Uint8Array(randomBytes(1000))
    const message = { data, nested: { list: [new Uint8Array([0, 255]), 'txt', 7, null, true] }, empty: new Uint8Array(0) }
    g.transport(0).send('p1', message)
    await waitFor(() => g.inbox[1]?.length === 1, 'delivery')
    const got = g.inbox[1]?.[0] as Received
    tt.equal(got.from, 'p0')
    const m = got.message as typeof message
    tt.ok(m.data instanceof Uint8Array, 'Uint8Array stays bytes')
    tt.same(Buffer.from(m.data), Buffer.from(data))
    tt.same(Buffer.from(m.nested.list[0] as Uint8Array), Buffer.from([0, 255]))
    tt.same(m.nested.list.slice(1), ['txt', 7, null, true])
    tt.equal(m.empty.length, 0)
  })

  t.test(`${s.name}: a 4 MiB message arrives intact, in order with small ones`, async (tt) => {
    const g = await group(tt, 2)
    const big = new Uint8Array(randomBytes(4 * 1024 * 1024))
    g.transport(0).send('p1', { n: 0 })
    tt.equal(g.transport(0).send('p1', { n: 1, big }), true)
    g.transport(0).send('p1', { n: 2 })
    await waitFor(() => g.inbox[1]?.length === 3, 'three messages')
    const got = (g.inbox[1] ?? []).map((r) => r.message as { n: number, big?: Uint8Array })
    tt.same(got.map((m) => m.n), [0, 1, 2])
    tt.equal(sha(got[1]?.big ?? new Uint8Array()), sha(big))
  })

  t.test(`${s.name}: an over-limit frame closes the connection; the peer recovers`, async (tt) => {
    const limit = 64 * 1024
    const g = await group(tt, 2, { maxFrameBytes: [undefined, limit] })
    tt.equal(g.transport(0).send('p1', { hello: 1 }), true)
    await waitFor(() => g.inbox[1]?.length === 1, 'first message')
    tt.equal(g.transport(0).send('p1', { big: new Uint8Array(limit * 3) }), true, 'sender accepts it (its limit is larger)')
    await waitFor(() => /oversize/.test(warnings(g, 1)), 'receiver logs an oversize close')
    await sendUntil(() => g.transport(0), 'p1', (n) => ({ after: n }), () => (g.inbox[1] ?? []).some((r) => 'after' in (r.message as object)), 'a message after reconnect')
    tt.notOk((g.inbox[1] ?? []).some((r) => 'big' in (r.message as object)), 'the oversize message was not delivered')
    tt.equal(g.transport(1).send('p0', { big: new Uint8Array(limit * 3) }), false, 'a sender refuses what exceeds its own limit')
  })

  t.test(`${s.name}: a restarted peer is reconnected and queued messages resume`, async (tt) => {
    const g = await group(tt, 2)
    g.transport(0).send('p1', { before: true })
    await waitFor(() => g.inbox[1]?.length === 1, 'first message')
    await g.stopPeer(1)
    await sleep(100) // let p0 observe the close, so the next sends queue rather than hit a dead socket
    const accepted = Array.from({ length: 10 }, (_x, n) => g.transport(0).send('p1', { queued: n }))
    tt.ok(accepted.every(Boolean), 'sends to a down peer are queued')
    await sleep(50)
    await g.startPeer(1)
    await waitFor(() => g.inbox[1]?.length === 11, 'queued messages after restart')
    tt.same((g.inbox[1] ?? []).slice(1).map((r) => (r.message as { queued: number }).queued), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    g.transport(1).send('p0', { back: true })
    await waitFor(() => g.inbox[0]?.length === 1, 'the restarted peer can send too')
  })

  t.test(`${s.name}: a peer that stops is reported lost to a peer it was connected to, only then`, async (tt) => {
    const g = await group(tt, 2)
    g.transport(0).send('p1', { hello: 0 })
    g.transport(1).send('p0', { hello: 1 })
    await waitFor(() => g.inbox[0]?.length === 1 && g.inbox[1]?.length === 1, 'both directions connected')
    tt.same(g.lost, [[], []], 'nothing lost while both run')
    await g.stopPeer(1)
    await waitFor(() => (g.lost[0] ?? []).length > 0, 'p0 reports p1 lost')
    tt.ok((g.lost[0] ?? []).every((id) => id === 'p1'), 'only p1 is reported')
    tt.same(g.lost[1], [], 'the stopped peer reports nothing')
    await g.startPeer(1)
    await sendUntil(() => g.transport(0), 'p1', (n) => ({ again: n }), () => (g.inbox[1] ?? []).some((r) => 'again' in (r.message as object)), 'delivery after the restart')
    const before = (g.lost[0] ?? []).length
    await g.stopPeer(0)
    await sleep(50)
    tt.equal((g.lost[0] ?? []).length, before, 'nothing is reported after stop()')
  })

  t.test(`${s.name}: a peer that comes back ends the others' reconnect back-off towards it`, async (tt) => {
    // A back-off of a minute: the queued message can only arrive within the wait below if
    // the restart itself made p0 dial again.
    const g = await group(tt, 2, { reconnectMinMs: 60_000, reconnectMaxMs: 60_000 })
    g.transport(0).send('p1', { before: true })
    await waitFor(() => g.inbox[1]?.length === 1, 'first message')
    await g.stopPeer(1)
    await sleep(100) // p0 sees the close; its next send dials, fails and backs off
    tt.equal(g.transport(0).send('p1', { queued: true }), true)
    await sleep(100)
    await g.startPeer(1)
    await waitFor(() => g.inbox[1]?.length === 2, 'the queued message, long before the back-off ends')
    tt.same(g.inbox[1]?.[1]?.message, { queued: true })
  })

  t.test(`${s.name}: a peer with a wrong or missing secret is refused`, async (tt) => {
    for (const secrets of [['right', 'wrong'], ['right', undefined], [undefined, 'right']]) {
      const g = await group(tt, 2, { secrets })
      g.transport(0).send('p1', { m: 1 })
      g.transport(1).send('p0', { m: 1 })
      await waitFor(() => /secret/.test(warnings(g, 0) + warnings(g, 1)), `a refusal mentioning the secret for ${JSON.stringify(secrets)}`)
      await sleep(100)
      tt.same([g.inbox[0]?.length, g.inbox[1]?.length], [0, 0], `nothing delivered with secrets ${JSON.stringify(secrets)}`)
      await g.stop()
    }
    const ok = await group(tt, 2, { secret: 'shared' })
    ok.transport(0).send('p1', { m: 1 })
    await waitFor(() => ok.inbox[1]?.length === 1, 'delivery with equal secrets')
  })

  t.test(`${s.name}: a peer id not in the configured peers is refused`, async (tt) => {
    const g = await group(tt, 3, { unlisted: [2] })
    g.transport(2).send('p0', { intruder: true })
    await waitFor(() => /not in/.test(warnings(g, 0) + warnings(g, 2)), 'a refusal of the unknown id')
    g.transport(1).send('p0', { friend: true })
    await waitFor(() => g.inbox[0]?.length === 1, 'a listed peer still gets through')
    await sleep(50)
    tt.same(g.inbox[0]?.map((r) => r.from), ['p1'])
  })

  if (s.sendRaw !== undefined) {
    const sendRaw = s.sendRaw
    t.test(`${s.name}: a connection sending garbage is closed; others are served`, async (tt) => {
      const g = await group(tt, 2)
      const header = Buffer.alloc(4)
      header.writeUInt32BE(0xfffffff0)
      const notHandshake = Buffer.from([0, 0, 0, 1, 0x2a]) // a frame holding the number 42
      for (const [what, bytes] of [['random bytes', randomBytes(2048)], ['a huge length header', header], ['a non-handshake frame', notHandshake]] as const) {
        tt.equal(await sendRaw(g.urls[0] as string, bytes, 3000), true, `closed after ${what}`)
      }
      g.transport(1).send('p0', { still: 'fine' })
      await waitFor(() => g.inbox[0]?.length === 1, 'a real peer still delivers')
      tt.equal(g.inbox[0]?.length, 1)
    })
  }

  t.test(`${s.name}: sends to a down peer are bounded by maxQueueBytes`, async (tt) => {
    const maxQueueBytes = 64 * 1024
    const g = await group(tt, 2, { maxQueueBytes })
    await g.stopPeer(1)
    const payload = new Uint8Array(1000)
    let accepted = 0
    for (let n = 0; n < 1000; n++) if (g.transport(0).send('p1', { payload })) accepted++
    tt.ok(accepted > 0 && accepted <= maxQueueBytes / 1000, `accepted ${accepted} of 1000 before dropping`)
    tt.equal(g.transport(0).send('p1', { payload }), false, 'still full')
    tt.match(warnings(g, 0), /queue full/)
  })

  t.test(`${s.name}: stop() closes everything and is idempotent`, async (tt) => {
    const before = handleCounts()
    const g = await s.createGroup(3)
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) if (i !== j) g.transport(i).send(g.ids[j] as string, { i })
    await waitFor(() => g.inbox.every((box) => box.length === 2), 'a full mesh of messages')
    const tr = g.transport(0)
    await g.stop()
    await tr.stop()
    tt.equal(tr.send('p1', {}), false, 'send after stop is refused')
    const leaks = (): string[] => [...handleCounts()].filter(([type, n]) => n > (before.get(type) ?? 0)).map(([type, n]) => `${type}×${n - (before.get(type) ?? 0)}`)
    // A closed socket's handle is released on the loop turn after its close callback.
    await waitFor(() => leaks().length === 0, 'handles to be released', 2000).catch(() => {})
    tt.same(leaks(), [], 'no handle left open')
  })
}
