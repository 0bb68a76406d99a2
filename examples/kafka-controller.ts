/**
 * A Kafka-style controller, the way Kafka used ZooKeeper before KRaft: five brokers (each an app
 * instance embedding a zkpeer peer) register as ephemeral members of /kafka/brokers; one is
 * elected controller; partition metadata lives in znodes /kafka/topics/<topic>/partitions/<p>
 * as JSON { leader, replicas, isr, leaderEpoch }. The controller assigns partition leaders and,
 * when a broker dies (its session expires), moves the leadership of that broker's partitions
 * to a surviving replica. Every broker watches the metadata and logs its own new roles.
 * The example crashes a broker, then the controller itself: a new controller takes over and
 * repairs the metadata. Each controller's writes are fenced by a controller epoch, so a deposed
 * controller that still thinks it leads cannot overwrite its successor's decisions.
 *
 * Run: npm run build && node dist/examples/kafka-controller.js
 * In your app: import { LeaderElection, Membership, Op, Peer } from 'zkpeer'
 */
import { LeaderElection, Membership, Op, Peer, ZkError, type MultiOp, type Session } from '../lib/index.js'
import { freePort, quiet, runExample, say, sleep } from './support.js'


interface PartitionState { leader: number, replicas: number[], isr: number[], leaderEpoch: number }
interface Broker { id: number, peer: Peer, zk: Session, members: Membership, election: LeaderElection }
const TOPICS: Record<string, number> = { orders: 3, payments: 2 } // topic → partitions
const REPLICAS = 3
let shuttingDown = false // the example's end: brokers leaving then are not failures to repair
const partitionPath = (topic: string, p: number): string => `/kafka/topics/${topic}/partitions/${p}`

async function ensure (zk: Session, path: string): Promise<void> {
  try { await zk.create(path) } catch (err) { if (!(err instanceof ZkError && err.code === 'NODEEXISTS')) throw err }
}

async function readState (zk: Session, path: string): Promise<{ state: PartitionState, version: number } | undefined> {
  try {
    const { data, stat } = await zk.getData(path)
    return { state: JSON.parse(data.toString('utf8')) as PartitionState, version: stat.version }
  } catch (err) {
    if (err instanceof ZkError && err.code === 'NONODE') return undefined
    throw err
  }
}

/**
 * The controller's job, run when elected and whenever a broker joins or leaves: creates missing
 * topics, and gives every partition whose leader is dead a live in-sync replica as leader.
 * Every write is a multi that checks the controller epoch this controller claimed.
 */
async function reconcile (b: Broker, epochVersion: number): Promise<void> {
  const alive = [...(await b.members.members()).keys()].map(Number).sort((x, y) => x - y)
  const fenced = (op: MultiOp): Promise<unknown> => b.zk.multi([Op.check('/kafka/controller-epoch', epochVersion), op])
  for (const [topic, count] of Object.entries(TOPICS)) {
    for (let p = 0; p < count; p++) {
      const path = partitionPath(topic, p)
      const current = await readState(b.zk, path)
      if (current === undefined) {
        const replicas = Array.from({ length: REPLICAS }, (_, i) => alive[(p + i + topic.length) % alive.length]!)
        for (const dir of ['/kafka/topics', `/kafka/topics/${topic}`]) await ensure(b.zk, dir)
        await ensure(b.zk, `/kafka/topics/${topic}/partitions`)
        await fenced(Op.create(path, JSON.stringify({ leader: replicas[0], replicas, isr: replicas, leaderEpoch: 0 })))
        continue
      }
      const { state, version } = current
      const isr = state.isr.filter((r) => alive.includes(r))
      if (alive.includes(state.leader) && isr.length === state.isr.length) continue
      const leader = alive.includes(state.leader) ? state.leader : isr[0] ?? -1 // -1: offline
      const next: PartitionState = { ...state, leader, isr, leaderEpoch: state.leaderEpoch + (leader === state.leader ? 0 : 1) }
      const what = leader === state.leader ? 'leader stays' : `leader ${state.leader} ->`
      say(`controller ${b.id}: ${topic}-${p}: ${what} ${leader}, isr [${state.isr.join(',')}] -> [${isr.join(',')}]`)
      await fenced(Op.setData(path, JSON.stringify(next), version))
    }
  }
}

async function startBroker (id: number, ensemble: Record<string, string>): Promise<Broker> {
  const peer = await Peer.start({ id: `broker-${id}`, listen: ensemble[`broker-${id}`], ensemble, log: quiet })
  await peer.ready()
  const zk = await peer.connect({ sessionTimeoutMs: 2_000 })
  const b: Broker = { id, peer, zk, members: new Membership(zk, '/kafka/brokers', String(id), { host: '127.0.0.1' }), election: new LeaderElection(zk, '/kafka/controller', { id: String(id) }) }
  // Every broker: watch the partition metadata and log the partitions it now leads or lost.
  const leading = new Set<string>()
  zk.addWatch('/kafka/topics', (e) => {
    const m = /^\/kafka\/topics\/([^/]+)\/partitions\/(\d+)$/.exec(e.path)
    if (m === null || e.type === 'NodeDeleted') return
    readState(zk, e.path).then((s) => {
      const name = `${m[1]}-${m[2]}`
      if (s?.state.leader === id && !leading.has(name)) say(`broker ${id}: now LEADER of ${name} (epoch ${s.state.leaderEpoch})`)
      if (s?.state.leader !== id && leading.delete(name)) say(`broker ${id}: no longer leader of ${name}`)
      if (s?.state.leader === id) leading.add(name)
    }, () => {})
  }, { recursive: true })
  // The controller: on election, claim a new controller epoch, then reconcile now and on every membership change.
  let work = Promise.resolve()
  let epochVersion = -1
  const failed = (err: unknown): void => { if (zk.state === 'connected') say(`broker ${id}: controller step failed: ${String(err)}`) }
  const run = (): void => { work = work.then(() => b.election.isLeader && !shuttingDown ? reconcile(b, epochVersion) : undefined).catch(failed) }
  b.election.on('elected', () => {
    if (shuttingDown) return
    work = work.then(async () => {
      epochVersion = (await b.zk.setData('/kafka/controller-epoch', String(id))).version
      say(`broker ${id}: elected CONTROLLER (controller epoch ${epochVersion})`)
    }).catch(failed)
    run()
  })
  b.members.on('change', run)
  return b
}

async function main (): Promise<void> {
  const ids = [1, 2, 3, 4, 5]
  const ensemble: Record<string, string> = {}
  for (const id of ids) ensemble[`broker-${id}`] = `tcp://127.0.0.1:${await freePort()}`
  const brokers = await Promise.all(ids.map((id) => startBroker(id, ensemble)))
  await ensure(brokers[0]!.zk, '/kafka')
  await ensure(brokers[0]!.zk, '/kafka/controller-epoch')
  for (const b of brokers) await b.members.join()
  say(`brokers ${ids.join(', ')} registered; electing a controller`)
  for (const b of brokers) await b.election.start()

  const partitions = Object.entries(TOPICS).flatMap(([t, n]) => Array.from({ length: n }, (_, p) => [t, p] as const))
  /** Waits until every partition has a live leader and no dead broker in its isr. */
  const healthy = async (zk: Session, alive: number[]): Promise<void> => {
    for (const deadline = Date.now() + 12_000; ;) {
      const states = await Promise.all(partitions.map(([t, p]) => readState(zk, partitionPath(t, p))))
      if (states.every((s) => s !== undefined && alive.includes(s.state.leader) && s.state.isr.every((r) => alive.includes(r)))) return
      if (Date.now() > deadline) throw new Error('the controller did not repair the partition metadata in time')
      await sleep(100)
    }
  }
  await healthy(brokers[0]!.zk, ids)
  // Pick the victims: a broker leading partitions, then the controller; and a broker to watch from.
  const old = brokers.find((b) => b.election.isLeader)!
  const leaders = await Promise.all(partitions.map(async ([t, p]) => (await readState(old.zk, partitionPath(t, p)))!.state.leader))
  const victim = brokers.find((b) => b !== old && leaders.includes(b.id))!
  const zk = brokers.find((b) => b !== old && b !== victim)!.zk
  say(`--- broker ${victim.id} crashes (leader of some partitions); its session expires after 2 s`)
  await victim.peer.stop()
  await healthy(zk, ids.filter((i) => i !== victim.id))

  say(`--- the controller, broker ${old.id}, crashes too`)
  await old.peer.stop()
  const alive = ids.filter((i) => i !== victim.id && i !== old.id)
  await healthy(zk, alive)
  say('final metadata:')
  for (const [t, p] of partitions) {
    const { state } = (await readState(zk, partitionPath(t, p)))!
    say(`  ${t}-${p}: leader ${state.leader}, replicas [${state.replicas.join(',')}], isr [${state.isr.join(',')}], leader epoch ${state.leaderEpoch}`)
  }
  say(`every partition is led by a live broker (${alive.join(', ')}) under controller ${await brokers.find((b) => b.zk === zk)!.election.leader()}`)
  shuttingDown = true
  for (const b of brokers.filter((x) => alive.includes(x.id))) {
    await b.election.stop()
    await b.members.stop()
    await b.zk.close()
  }
  await Promise.all(brokers.map((b) => b.peer.stop()))
}

runExample(main)
