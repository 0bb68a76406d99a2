/**
 * Shared fixtures of the recipe tests: in-process ensembles over memory:// (one peer, or
 * three on a private MemoryNetwork so partitions affect only that test), sessions, and
 * bounded waiting for events. Every peer is stopped in t.teardown.
 */
import { once } from 'node:events'
import type { Test } from 'tap'
import { Peer, ZkError, type Session } from '../../lib/index.js'
import { MemoryNetwork } from '../../transports/index.js'

let counter = 0

/** A unique memory:// name prefix for this process. */
function unique (what: string): string {
  counter++
  return `recipes-${what}-${process.pid}-${counter}`
}

/** Fast session expiry for tests: sessions may ask for 200 ms. */
const TIMEOUTS = { tickMs: 10, minSessionTimeoutMs: 200, maxSessionTimeoutMs: 10_000 } as const

/** A one-member ensemble. */
export async function onePeer (t: Test): Promise<Peer> {
  const peer = await Peer.start({ id: 'a', listen: `memory://${unique('solo')}`, ...TIMEOUTS })
  t.teardown(() => peer.stop())
  await peer.ready()
  return peer
}

/** Three peers a, b, c on a private network (so `net.partition` affects only them). */
export async function threePeers (t: Test): Promise<{ peers: Peer[], net: MemoryNetwork }> {
  const net = new MemoryNetwork()
  const name = unique('trio')
  const ensemble = { a: `memory://${name}-a`, b: `memory://${name}-b`, c: `memory://${name}-c` }
  const peers = await Promise.all((['a', 'b', 'c'] as const).map((id) =>
    Peer.start({ id, listen: ensemble[id], ensemble, transport: net.transport, ...TIMEOUTS })))
  t.teardown(async () => {
    net.heal()
    await Promise.all(peers.map((p) => p.stop()))
  })
  await Promise.all(peers.map((p) => p.ready()))
  return { peers, net }
}

/** Opens `n` sessions on `peer` (closed in teardown if still open). */
export async function sessions (t: Test, peer: Peer, n: number, sessionTimeoutMs = 2_000): Promise<Session[]> {
  const out: Session[] = []
  for (let i = 0; i < n; i++) out.push(await peer.connect({ sessionTimeoutMs }))
  t.teardown(() => Promise.all(out.map((s) => s.close().catch(() => {}))))
  return out
}

/** Resolves with the args of `emitter`'s next `event`, or rejects after `ms`. */
export async function next (emitter: NodeJS.EventEmitter, event: string, ms = 5_000): Promise<unknown[]> {
  return await once(emitter, event, { signal: AbortSignal.timeout(ms) })
}

/** Polls `check` (no fixed sleeps in assertions) until true, or rejects after `ms`. */
export async function until (check: () => boolean | Promise<boolean>, ms = 5_000, what = 'condition'): Promise<void> {
  const deadline = performance.now() + ms
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/** The error `p` rejects with (fails the test if it resolves). */
export async function rejection (t: Test, p: Promise<unknown>): Promise<unknown> {
  try {
    await p
  } catch (err) {
    return err
  }
  t.fail('expected a rejection')
  return undefined
}

/** Asserts that `err` is a ZkError with `code`. */
export function isCode (t: Test, err: unknown, code: string, msg?: string): void {
  t.ok(err instanceof ZkError, `${msg ?? code}: a ZkError (${String(err)})`)
  t.equal((err as ZkError).code, code, msg ?? `code ${code}`)
}

/** Children of `path`, or [] if it does not exist. */
export async function children (zk: Session, path: string): Promise<string[]> {
  return await zk.exists(path) === null ? [] : await zk.getChildren(path)
}

/** Total watches registered on every peer. */
export function watches (...peers: Peer[]): number {
  return peers.reduce((n, p) => n + p.status().watches, 0)
}

/**
 * Makes the next `create` of `zk` apply but report CONNECTIONLOSS (applied: true), or fail
 * with CONNECTIONLOSS without being sent (applied: false): an unknown outcome either way.
 */
export function injectUnknownCreate (zk: Session, applied: boolean): void {
  const real = zk.create.bind(zk)
  let armed = true
  zk.create = async (...args: Parameters<Session['create']>): Promise<string> => {
    if (!armed) return await real(...args)
    armed = false
    if (applied) await real(...args)
    throw new ZkError('CONNECTIONLOSS', 'injected by the test: outcome unknown')
  }
}
