/**
 * Leader election for a scheduler: five app instances, each embedding a zkpeer peer, run the
 * same code, but only the elected leader runs the periodic job (say, the nightly report), so it
 * never runs twice at once. The example stops the leader gracefully (hand-over is immediate),
 * then crashes the next leader (hand-over after its session times out), and checks that
 * exactly one instance ran the job at any time.
 *
 * Run: npm run build && node dist/examples/leader-election.js
 * In your app: import { LeaderElection, Peer } from 'zkpeer'
 */
import { LeaderElection, Peer, type Session } from '../lib/index.js'
import { freePort, quiet, runExample, say, until } from './support.js'

const SESSION_TIMEOUT_MS = 2_000

/** One app instance: a peer, a session on it, and a candidacy for running the scheduler. */
interface Instance { id: string, peer: Peer, zk: Session, election: LeaderElection, ticks: number }
const running = new Set<string>() // instances whose scheduler is running right now
let overlaps = 0

async function startInstance (id: string, ensemble: Record<string, string>): Promise<Instance> {
  const peer = await Peer.start({ id, listen: ensemble[id], ensemble, log: quiet })
  await peer.ready()
  const zk = await peer.connect({ sessionTimeoutMs: SESSION_TIMEOUT_MS })
  const election = new LeaderElection(zk, '/myapp/scheduler-leader', { id })
  const me: Instance = { id, peer, zk, election, ticks: 0 }
  let timer: NodeJS.Timeout | undefined
  // Run the job only while elected; stop at once when leadership is revoked (stopped,
  // session suspended or expired), so two instances never run it together.
  election.on('elected', () => {
    say(`${id}: elected leader, starting the scheduler`)
    running.add(id)
    if (running.size > 1) overlaps++
    timer = setInterval(() => say(`${id}: runs the nightly-report job (run ${++me.ticks})`), 300)
  })
  election.on('revoked', (reason: string) => {
    clearInterval(timer)
    running.delete(id)
    say(`${id}: no longer leader (${reason}), scheduler stopped`)
  })
  await election.start()
  return me
}

async function main (): Promise<void> {
  const ids = ['app-1', 'app-2', 'app-3', 'app-4', 'app-5']
  const ensemble: Record<string, string> = {}
  for (const id of ids) ensemble[id] = `tcp://127.0.0.1:${await freePort()}`
  say(`starting ${ids.length} instances, each with an embedded peer`)
  const instances = await Promise.all(ids.map((id) => startInstance(id, ensemble)))
  const leader = (): Instance | undefined => instances.find((i) => i.election.isLeader)
  await until('a leader', () => leader() !== undefined)
  const first = leader()!
  say(`every instance agrees: leader is ${await instances[4]!.election.leader()}`)
  await until(`${first.id} to run the job twice`, () => first.ticks >= 2)

  say(`--- ${first.id} shuts down gracefully (stop the candidacy, close the session, stop the peer)`)
  await first.election.stop()
  await first.zk.close()
  await first.peer.stop()
  await until('a new leader', () => leader() !== undefined && leader() !== first)
  const second = leader()!
  await until(`${second.id} to run the job twice`, () => second.ticks >= 2)

  say(`--- ${second.id} crashes: its peer stops without closing the session`)
  await second.peer.stop()
  await until('a third leader', () => leader() !== undefined && leader() !== second)
  say(`hand-over after the crashed leader's session expired (${SESSION_TIMEOUT_MS} ms timeout)`)
  const third = leader()!
  await until(`${third.id} to run the job`, () => third.ticks >= 1)

  if (overlaps > 0) throw new Error('two instances ran the scheduler at once')
  say(`leadership passed ${first.id} -> ${second.id} -> ${third.id}; the job never ran on two instances at once`)
  say('--- shutting down every instance (followers first, so leadership does not hop around)')
  for (const i of [...instances].sort((x, y) => Number(x.election.isLeader) - Number(y.election.isLeader))) {
    await i.election.stop()
    await i.zk.close().catch(() => {}) // already closed for the stopped instances
  }
  await Promise.all(instances.map((i) => i.peer.stop()))
}

runExample(main)
