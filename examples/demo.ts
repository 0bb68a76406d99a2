/**
 * `npm run demo`: three application instances, each its own Node.js process with an embedded
 * zkpeer peer, form an ensemble on loopback. The demo shows, as it happens: the ensemble
 * electing a leader, the instances electing an app leader and seeing each other as members, a
 * configuration change made on one and seen on all, a lock passed from one to the next with
 * increasing fencing tokens; then it kills the ensemble leader's process with SIGKILL and shows
 * the new leader, the dead member leaving, and the service carrying on. Every step is checked;
 * the demo stops everything it started and exits 0 only if all steps happened.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { DemoCommand, DemoEvent } from './demo-peer.js'
import { freePort } from './support.js'

const started = performance.now()
const STEP_TIMEOUT_MS = 15_000
const children = new Map<string, ChildProcess>()
const seen: DemoEvent[] = []
const waiters: Array<{ match: (e: DemoEvent) => boolean, resolve: (e: DemoEvent) => void }> = []

const color = (code: number) => (s: string): string => process.stdout.isTTY ? `\u001b[${code}m${s}\u001b[0m` : s
const dim = color(2)
const bold = color(1)
const green = color(32)
const red = color(31)

function say (text: string): void {
  const at = ((performance.now() - started) / 1000).toFixed(1).padStart(5)
  console.log(`${dim(`[${at}s]`)} ${text}`)
}

/** Resolves with the first event (already seen or to come) that matches; fails the demo after a timeout. */
function when (what: string, match: (e: DemoEvent) => boolean, since = 0): Promise<DemoEvent> {
  const hit = seen.slice(since).find(match)
  if (hit !== undefined) return Promise.resolve(hit)
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${STEP_TIMEOUT_MS / 1000} s waiting for: ${what}`)), STEP_TIMEOUT_MS)
    waiters.push({ match, resolve: (e) => { clearTimeout(timer); resolve(e) } })
  })
}

function onEvent (e: DemoEvent): void {
  seen.push(e)
  for (let i = waiters.length - 1; i >= 0; i--) {
    const w = waiters[i]!
    if (w.match(e)) {
      waiters.splice(i, 1)
      w.resolve(e)
    }
  }
  switch (e.kind) {
    case 'ensemble-leader':
      if (e.leader !== undefined) say(`peer ${e.id}: the ensemble leader is ${bold(e.leader)} (term ${e.term})`)
      break
    case 'elected': say(`peer ${e.id}: ${green('elected app leader')} among the instances`); break
    case 'members': say(`peer ${e.id}: members are now ${e.members.join(', ')}`); break
    case 'config': say(`peer ${e.id}: sees config ${e.key} = ${JSON.stringify(e.value)}`); break
    case 'lock': say(`peer ${e.id}: ${e.state} the global lock (fencing token ${e.token})`); break
    case 'failed': say(red(`peer ${e.id} failed: ${e.error}`)); break
    case 'started': break
  }
}

function send (id: string, command: DemoCommand): void {
  children.get(id)?.send(command)
}

function stopAll (): void {
  for (const child of children.values()) if (child.exitCode === null) child.kill('SIGKILL')
}

async function main (): Promise<void> {
  const ids = ['a', 'b', 'c']
  const ensemble: Record<string, string> = {}
  for (const id of ids) ensemble[id] = `tcp://127.0.0.1:${await freePort()}`
  console.log(bold('zkpeer demo: three app instances, each a Node.js process embedding a peer, on loopback'))
  const script = fileURLToPath(new URL('./demo-peer.js', import.meta.url))
  for (const id of ids) {
    const child = fork(script, [id, JSON.stringify(ensemble)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    child.on('message', (m) => onEvent(m as DemoEvent))
    children.set(id, child)
    say(`started instance ${id} (pid ${child.pid}) listening on ${ensemble[id]}`)
  }

  say(bold('1. The peers elect an ensemble leader; the instances elect an app leader and join the membership'))
  await Promise.all(ids.map((id) => when(`instance ${id} to start`, (e) => e.kind === 'started' && e.id === id)))
  const first = await when('an ensemble leader', (e) => e.kind === 'ensemble-leader' && e.leader !== undefined)
  const leader = (first as Extract<DemoEvent, { kind: 'ensemble-leader' }>).leader!
  await when('an app leader', (e) => e.kind === 'elected')
  await Promise.all(ids.map((id) => when(`${id} to see all three members`, (e) => e.kind === 'members' && e.id === id && e.members.length === 3)))

  say(bold('2. A configuration change made on one instance is seen on all'))
  const setter = ids.find((id) => id !== leader)!
  let mark = seen.length
  say(`instance ${setter} sets color = "blue"`)
  send(setter, { cmd: 'set-config', key: 'color', value: 'blue' })
  await Promise.all(ids.map((id) => when(`${id} to see color=blue`, (e) => e.kind === 'config' && e.id === id && e.value === 'blue', mark)))

  say(bold('3. A global lock passes from instance to instance, with increasing fencing tokens'))
  mark = seen.length
  for (const id of ids) send(id, { cmd: 'take-lock', holdMs: 300 })
  const tokens: number[] = []
  for (let i = 0; i < ids.length; i++) {
    const got = await when(`lock hand-over ${i + 1}`, (e) => e.kind === 'lock' && e.state === 'acquired' && !tokens.includes(e.token), mark)
    tokens.push((got as Extract<DemoEvent, { kind: 'lock' }>).token)
  }
  if (!tokens.every((t, i) => i === 0 || t > tokens[i - 1]!)) throw new Error(`fencing tokens did not increase: ${tokens.join(', ')}`)
  await when('the last release', (e) => e.kind === 'lock' && e.state === 'released' && e.token === tokens[2], mark)

  say(bold(`4. Kill the ensemble leader's process (instance ${leader}) with SIGKILL`))
  mark = seen.length
  children.get(leader)?.kill('SIGKILL')
  const survivors = ids.filter((id) => id !== leader)
  const next = await when('a new ensemble leader', (e) => e.kind === 'ensemble-leader' && e.leader !== undefined && e.leader !== leader, mark)
  say(green(`the ensemble carries on under ${(next as Extract<DemoEvent, { kind: 'ensemble-leader' }>).leader}`))
  await Promise.all(survivors.map((id) => when(`${id} to see ${leader} leave`, (e) => e.kind === 'members' && e.id === id && !e.members.includes(leader), mark)))
  say(green(`instance ${leader} left the membership when its session expired`))

  say(bold('5. The service continues: a new config value, seen by both survivors'))
  mark = seen.length
  send(survivors[1]!, { cmd: 'set-config', key: 'color', value: 'green' })
  await Promise.all(survivors.map((id) => when(`${id} to see color=green`, (e) => e.kind === 'config' && e.id === id && e.value === 'green', mark)))
  const seconds = ((performance.now() - started) / 1000).toFixed(1)
  console.log(green(bold(`demo finished in ${seconds} s: every step checked. Stopping the instances.`)))
}

process.on('SIGINT', () => { stopAll(); process.exit(130) })
main().then(
  () => { stopAll(); process.exit(0) },
  (err: unknown) => {
    console.error(red(`demo failed: ${err instanceof Error ? err.message : String(err)}`))
    stopAll()
    process.exit(1)
  },
)
