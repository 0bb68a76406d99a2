/**
 * Goal: the recipes hold across real processes, as app instances use them: a Lock serializes
 * three processes' read-modify-writes with strictly increasing fencing tokens and hands over
 * when its holder is killed; an election moves when the leader's process dies; every process
 * sees every Config change in the same order; Queue items are neither lost nor taken twice.
 * Method: a 3-process ensemble over TCP (the Cluster harness), each process running the
 * recipe through the public API (test/cluster/recipes.ts) and reporting back over IPC.
 */
import t, { type Test } from 'tap'
import { Cluster, type PeerProcess } from '../cluster/cluster.js'
import type { RecipeAction } from '../cluster/protocol.js'

const SESSION_MS = 2_000

async function withCluster (t: Test, fn: (c: Cluster, sessions: Map<string, number>) => Promise<void>): Promise<void> {
  const cluster = await Cluster.start({ size: 3, tickMs: 50, sessionTimeoutMs: SESSION_MS })
  t.teardown(() => cluster.stop())
  const sessions = new Map<string, number>()
  for (const [id, p] of cluster.peers) sessions.set(id, (await p.request<{ session: number }>({ cmd: 'connect', sessionTimeoutMs: SESSION_MS })).session)
  await fn(cluster, sessions)
}


function recipe<T> (p: PeerProcess, session: number, action: RecipeAction, timeoutMs = 60_000): Promise<T> {
  return p.request<T>({ cmd: 'recipe', session, action }, timeoutMs)
}

function events (p: PeerProcess, kind: string): unknown[] {
  const seen: unknown[] = []
  p.on('recipe', (e: { kind: string, detail: unknown }) => { if (e.kind === kind) seen.push(e.detail) })
  return seen
}

async function until (what: string, ok: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

t.test('a Lock serializes three processes with increasing fencing tokens, and passes on when its holder dies', (t) => withCluster(t, async (cluster, sessions) => {
  const rounds = 15
  const results = await Promise.all([...cluster.peers].map(([id, p]) =>
    recipe<{ tokens: number[], violations: number }>(p, sessions.get(id)!, { kind: 'lock-increment', path: '/locks/counter', counter: '/counter', rounds })))
  const a = cluster.peer('a')
  const { data } = await a.call<{ data: Buffer }>(sessions.get('a')!, 'getData', '/counter')
  t.equal((JSON.parse(data.toString()) as { value: number }).value, 3 * rounds, 'no increment was lost')
  t.equal(results.reduce((n, r) => n + r.violations, 0), 0, 'every holder saw a token above the previous holder\'s')
  const tokens = results.flatMap((r) => r.tokens)
  t.equal(new Set(tokens).size, tokens.length, 'tokens are unique')
  for (const r of results) t.ok(r.tokens.every((tok, i) => i === 0 || tok > r.tokens[i - 1]!), 'and increase in each process')

  const holder = await recipe<number>(a, sessions.get('a')!, { kind: 'lock-hold', path: '/locks/handover', timeoutMs: 10_000 })
  const b = cluster.peer('b')
  const next = recipe<number>(b, sessions.get('b')!, { kind: 'lock-hold', path: '/locks/handover', timeoutMs: 30_000 })
  await a.kill()
  t.ok(await next > holder, 'the waiter in another process takes the lock once the killed holder\'s session expires')
}))

t.test('leadership moves when the elected process dies', (t) => withCluster(t, async (cluster, sessions) => {
  const elected = new Map<string, unknown[]>()
  for (const [id, p] of cluster.peers) elected.set(id, events(p, 'elected'))
  for (const [id, p] of cluster.peers) await recipe(p, sessions.get(id)!, { kind: 'elect', path: '/election/app', id })
  await until('someone is elected', () => [...elected.values()].some((e) => e.length > 0))
  const leader = [...elected].find(([, e]) => e.length > 0)![0]
  t.equal([...elected.values()].filter((e) => e.length > 0).length, 1, 'exactly one leader')
  await cluster.peer(leader).kill()
  await until('another process is elected', () => [...elected].some(([id, e]) => id !== leader && e.length > 0), 30_000)
  t.pass(`leadership moved from ${leader}`)
}))

t.test('every process sees every Config change in the same order', (t) => withCluster(t, async (cluster, sessions) => {
  const seen = new Map<string, unknown[]>()
  for (const [id, p] of cluster.peers) {
    seen.set(id, events(p, 'config'))
    await recipe(p, sessions.get(id)!, { kind: 'config-watch', path: '/config/app' })
  }
  await Promise.all(['a', 'b'].map(async (id) => {
    for (let i = 0; i < 5; i++) await recipe(cluster.peer(id), sessions.get(id)!, { kind: 'config-set', path: '/config/app', key: id, value: String(i) })
  }))
  await until('all ten changes arrive everywhere', () => [...seen.values()].every((s) => s.length >= 10))
  const [first, ...rest] = [...seen.values()]
  for (const other of rest) t.same(other, first, 'the same sequence')
  t.equal(first!.length, 10)
}))

t.test('Queue items are neither lost nor taken twice by consumers in two processes', (t) => withCluster(t, async (cluster, sessions) => {
  const items = Array.from({ length: 40 }, (_, i) => `job-${i}`)
  const a = cluster.peer('a')
  const draining = ['b', 'c'].map((id) => recipe<string[]>(cluster.peer(id), sessions.get(id)!, { kind: 'queue-drain', path: '/queues/jobs', idleMs: 1_500 }))
  await recipe(a, sessions.get('a')!, { kind: 'queue-put', path: '/queues/jobs', items })
  const taken = (await Promise.all(draining)).flat()
  t.equal(taken.length, items.length, 'as many taken as put')
  t.same([...new Set(taken)].sort(), [...items].sort(), 'each item exactly once')
}))
