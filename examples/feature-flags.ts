/**
 * Replicated feature flags: three app instances, each embedding a zkpeer peer, keep the
 * flags in a local in-memory object that request handlers read synchronously (no network hop
 * per request). An operator flips flags from one instance; every instance is told of every
 * change, in the same order, and reacts (here, by logging what its next request would do).
 * Two instances then change flags at the same moment: all still see one common order.
 *
 * Run: npm run build && node dist/examples/feature-flags.js
 * In your app: import { Config, Peer } from 'zkpeer'
 */
import { Config, Peer, type ConfigChange, type JsonValue, type Session } from '../lib/index.js'
import { freePort, quiet, runExample, say, until } from './support.js'


/** One app instance: its peer, session, the flags recipe and the flags as this instance sees them. */
interface Instance {
  id: string
  peer: Peer
  zk: Session
  flags: Config
  /** The local copy request handlers read: plain memory, updated by 'change' events. */
  current: Record<string, JsonValue>
  /** Every change this instance saw, in order (to check that all saw the same sequence). */
  seen: string[]
}

async function startInstance (id: string, ensemble: Record<string, string>): Promise<Instance> {
  const peer = await Peer.start({ id, listen: ensemble[id], ensemble, log: quiet })
  await peer.ready()
  return await watchFlags(id, peer)
}

/** Opens a session on `peer` and follows the flags through it. */
async function watchFlags (id: string, peer: Peer): Promise<Instance> {
  const zk = await peer.connect({ sessionTimeoutMs: 5_000 })
  const flags = new Config(zk, '/myapp/feature-flags')
  const me: Instance = { id, peer, zk, flags, current: {}, seen: [] }
  flags.on('change', (c: ConfigChange) => {
    if (c.value === undefined) delete me.current[c.key]
    else me.current[c.key] = c.value
    me.seen.push(`#${c.rev} ${c.key}=${JSON.stringify(c.value)}`)
    say(`${id}: #${c.rev} ${c.key} = ${JSON.stringify(c.value)}  -> next request: ${handleRequest(me)}`)
  })
  await flags.start()
  // Changes made before start() are not events: load the current values once.
  Object.assign(me.current, await flags.all())
  return me
}

/** What a request handler would do: a synchronous read of the local flags. */
function handleRequest (app: Instance): string {
  const checkout = app.current['new-checkout'] === true ? 'new checkout' : 'old checkout'
  const percent = typeof app.current['search-v2-percent'] === 'number' ? app.current['search-v2-percent'] : 0
  return `${checkout}, search v2 for ${percent}% of users`
}

async function main (): Promise<void> {
  const ids = ['web-1', 'web-2', 'web-3']
  const ensemble: Record<string, string> = {}
  for (const id of ids) ensemble[id] = `tcp://127.0.0.1:${await freePort()}`
  say(`starting ${ids.length} instances, each with an embedded peer`)
  const apps = await Promise.all(ids.map((id) => startInstance(id, ensemble)))
  const [web1, web2, web3] = apps as [Instance, Instance, Instance]
  const allSeen = (n: number) => (): boolean => apps.every((a) => a.seen.length >= n)

  say('--- the operator, on web-1, turns on the new checkout and rolls search v2 out gradually')
  await web1.flags.set('new-checkout', true)
  for (const percent of [10, 50]) {
    await web1.flags.set('search-v2-percent', percent)
    await until('every instance to see the change', allSeen(web1.seen.length))
  }

  say('--- web-2 and web-3 change flags at the same moment')
  await Promise.all([web2.flags.set('search-v2-percent', 100), web3.flags.set('new-checkout', false)])
  await until('every instance to see both changes', allSeen(5))

  say('--- a worker started now on web-2 (a new session) reads the current flags at once')
  const late = await watchFlags('web-2/worker', web2.peer)
  say(`web-2/worker: next request: ${handleRequest(late)}`)
  if (handleRequest(late) !== handleRequest(web1)) throw new Error('the new worker does not see the current flags')

  const order = web1.seen.join(', ')
  for (const a of apps) {
    if (a.seen.join(', ') !== order) throw new Error(`${a.id} saw ${a.seen.join(', ')}, web-1 saw ${order}`)
  }
  say(`all ${apps.length} instances saw the same ${web1.seen.length} changes in the same order`)
  for (const a of [...apps, late]) {
    await a.flags.stop()
    await a.zk.close()
  }
  await Promise.all(apps.map((a) => a.peer.stop()))
}

runExample(main)
