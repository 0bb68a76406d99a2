/**
 * A job queue: a producer enqueues jobs, three workers (each an app instance embedding a zkpeer
 * peer) take them, and each job's result is recorded exactly once, even though one worker
 * crashes half-way through a job.
 *
 * The Queue recipe hands each job to one taker and deletes it as it is taken. To survive a
 * worker dying while it works, each worker also records the job it holds in a PERSISTENT
 * in-flight znode; workers are ephemeral members of /jobs/workers, and when one leaves (its
 * session expired), a survivor puts its in-flight jobs back on the queue. Finishing a job is one
 * atomic multi: create /jobs/done/<job> and delete our in-flight record. If either fails, the
 * job was already done, or was taken back from us: the result is dropped, never recorded twice.
 * (One gap remains: a crash in the instant between `take()` and writing the in-flight record
 * loses that job, because the Queue recipe has no take-with-acknowledgement.)
 *
 * Run: npm run build && node dist/examples/job-queue.js
 * In your app: import { Membership, Op, Peer, Queue, withLock } from 'zkpeer'
 */
import { Membership, Op, Peer, Queue, ZkError, withLock, type Session } from '../lib/index.js'
import { freePort, quiet, runExample, say, sleep } from './support.js'


interface Job { id: string, task: string }
interface Worker { id: string, peer: Peer, zk: Session, queue: Queue, members: Membership, executed: number }
const JOBS = 12

/** Creates `path` (PERSISTENT) unless it exists. */
async function ensure (zk: Session, path: string): Promise<void> {
  try { await zk.create(path) } catch (err) { if (!(err instanceof ZkError && err.code === 'NODEEXISTS')) throw err }
}

/** Takes jobs until `stop` aborts; `crashOnJob` makes this worker die while doing that job. */
async function work (w: Worker, stop: AbortSignal, crashOnJob?: number): Promise<void> {
  for (;;) {
    let job: Job
    try {
      job = JSON.parse((await w.queue.take({ signal: stop })).toString('utf8')) as Job
    } catch {
      return // stopped
    }
    const mine = `/jobs/in-flight/${job.id}@${w.id}`
    await w.zk.create(mine, JSON.stringify({ worker: w.id, job }))
    say(`${w.id}: working on ${job.id} (${job.task})`)
    if (++w.executed === crashOnJob) {
      say(`${w.id}: CRASHES half-way through ${job.id}`)
      await w.peer.stop() // like SIGKILL: the session is not closed; it expires in the ensemble
      return
    }
    await sleep(150) // the actual work
    try {
      await w.zk.multi([Op.create(`/jobs/done/${job.id}`, JSON.stringify({ by: w.id })), Op.delete(mine)])
      say(`${w.id}: done ${job.id}`)
    } catch (err) {
      if (!(err instanceof ZkError && (err.code === 'NODEEXISTS' || err.code === 'NONODE'))) throw err
      say(`${w.id}: ${job.id} was done already or taken back from us: result dropped`)
    }
  }
}

/** Puts the in-flight jobs of workers that are no longer members back on the queue. */
async function recover (w: Worker): Promise<void> {
  // One recoverer at a time, so a job is put back once (a repeat would be harmless anyway:
  // /jobs/done/<job> can be created only once).
  await withLock(w.zk, '/jobs/recovery-lock', async () => {
    const alive = await w.members.members()
    for (const name of await w.zk.getChildren('/jobs/in-flight')) {
      const record = JSON.parse((await w.zk.getData(`/jobs/in-flight/${name}`)).data.toString('utf8')) as { worker: string, job: Job }
      if (alive.has(record.worker)) continue
      say(`${w.id}: ${record.worker} left holding ${record.job.id}: putting it back on the queue`)
      await w.queue.put(JSON.stringify(record.job))
      await w.zk.delete(`/jobs/in-flight/${name}`)
    }
  })
}

async function main (): Promise<void> {
  const ids = ['worker-a', 'worker-b', 'worker-c']
  const ensemble: Record<string, string> = {}
  for (const id of ids) ensemble[id] = `tcp://127.0.0.1:${await freePort()}`
  const workers = await Promise.all(ids.map(async (id): Promise<Worker> => {
    const peer = await Peer.start({ id, listen: ensemble[id], ensemble, log: quiet })
    await peer.ready()
    const zk = await peer.connect({ sessionTimeoutMs: 2_000 })
    return { id, peer, zk, queue: new Queue(zk, '/jobs/queue'), members: new Membership(zk, '/jobs/workers', id), executed: 0 }
  }))
  const [a] = workers as [Worker]
  for (const path of ['/jobs', '/jobs/in-flight', '/jobs/done']) await ensure(a.zk, path)
  let recovering = Promise.resolve()
  for (const w of workers) {
    await w.members.join()
    // Whenever a worker leaves, look for jobs it held (one recovery at a time in this process).
    w.members.on('change', () => {
      recovering = recovering.then(() => recover(w)).catch((err: unknown) => {
        if (w.zk.state === 'connected') say(`${w.id}: recovery failed: ${String(err)}`)
      })
    })
  }

  say(`the producer (on worker-a) enqueues ${JOBS} jobs`)
  for (let i = 1; i <= JOBS; i++) await a.queue.put(JSON.stringify({ id: `job-${String(i).padStart(2, '0')}`, task: `resize photo-${i}.jpg` }))
  const stop = new AbortController()
  const loops = workers.map((w) => work(w, stop.signal, w.id === 'worker-c' ? 2 : undefined))

  for (const deadline = Date.now() + 15_000; (await a.zk.getChildren('/jobs/done')).length < JOBS;) {
    if (Date.now() > deadline) throw new Error('not every job was done in time')
    await sleep(100)
  }
  stop.abort()
  await Promise.all(loops)
  const done = await a.zk.getChildren('/jobs/done')
  const left = (await a.zk.getChildren('/jobs/in-flight')).length + await a.queue.size()
  if (done.length !== JOBS || left !== 0) throw new Error(`${done.length} jobs done, ${left} left over`)
  say(`all ${JOBS} jobs done exactly once (${workers.map((w) => `${w.id} ran ${w.executed}`).join(', ')}); no job lost`)

  for (const w of workers.filter((x) => x.id !== 'worker-c')) {
    await w.members.stop()
    await w.zk.close()
  }
  await recovering
  await Promise.all(workers.map((w) => w.peer.stop()))
}

runExample(main)
