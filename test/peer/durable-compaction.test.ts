/**
 * Goal: a durable peer compacts its consensus core's in-memory log on its own, without waiting
 * for a stored snapshot, and still (a) catches up a follower that needs the forgotten entries
 * and (b) restarts from its dataDir with everything it applied.
 * Method: three in-process Peers with dataDirs on a private MemoryNetwork. One follower is cut
 * off while more entry bytes commit than the in-memory log keeps (4 MiB) but fewer than
 * trigger a stored snapshot (16 MiB); healed, it can only catch up by snapshot, since the
 * leader's core no longer holds those entries. Then the leader is stopped and started again
 * from its dataDir, alone: its own log must give back every applied write. No timing asserted.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { Peer, type PeerOptions } from '../../lib/index.js'
import { silentLogger } from '../../lib/env.js'
import { MemoryNetwork } from '../../transports/index.js'

const VALUE_BYTES = 900 * 1024
const WRITES = 12

async function until (what: string, fn: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

t.test('a durable peer whose in-memory log was compacted catches up a lagging follower and restarts with everything', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'zkpeer-compaction-'))
  const net = new MemoryNetwork()
  const ensemble = { a: 'memory://dc-a', b: 'memory://dc-b', c: 'memory://dc-c' }
  const options = (id: string): PeerOptions => ({
    id, listen: ensemble[id as 'a'], ensemble, transport: net.transport, tickMs: 10, log: silentLogger,
    dataDir: join(root, id), sync: false,
  })
  const peers = new Map<string, Peer>()
  for (const id of Object.keys(ensemble)) peers.set(id, await Peer.start(options(id)))
  t.teardown(async () => {
    for (const p of peers.values()) await p.stop()
    rmSync(root, { recursive: true, force: true })
  })
  await Promise.all([...peers.values()].map((p) => p.ready()))
  const leader = [...peers.values()].find((p) => p.role === 'leader')!
  const [, lagging] = [...peers.values()].filter((p) => p !== leader)
  net.partition([[lagging!.id], [...peers.keys()].filter((id) => id !== lagging!.id)])

  const zk = await leader.connect()
  for (let i = 0; i < WRITES; i++) await zk.create(`/big-${i}`, Buffer.alloc(VALUE_BYTES, i))
  const applied = leader.status().zxid
  t.equal(lagging!.status().snapshotsInstalled, 0, 'the lagging follower has installed no snapshot yet')

  net.heal()
  await until('the lagging follower caught up', () => lagging!.status().zxid >= applied)
  t.ok(lagging!.status().snapshotsInstalled >= 1, 'it caught up by snapshot: the leader\'s core had forgotten those entries')
  const onLagging = await lagging!.connect()
  await onLagging.sync()
  for (let i = 0; i < WRITES; i++) t.ok((await onLagging.getData(`/big-${i}`)).data.equals(Buffer.alloc(VALUE_BYTES, i)), `/big-${i} is on the follower`)
  await onLagging.close()
  await zk.close()

  // Alone after the restart (no leader to learn from): what it applies comes from its own dataDir.
  const znodes = leader.status().znodes
  const appliedBefore = leader.status().zxid
  await leader.stop()
  net.partition([[leader.id], [...peers.keys()].filter((id) => id !== leader.id)])
  const restarted = await Peer.start(options(leader.id))
  peers.set(leader.id, restarted)
  await until('the restarted peer applied its own log', () => restarted.status().zxid >= appliedBefore)
  t.equal(restarted.status().znodes, znodes, 'it holds every znode it held before')
  t.equal(restarted.status().snapshotsInstalled, 0, 'from its own storage, not from a leader')
})

t.test('a dataDir whose snapshot fails its checksum refuses to start, and lets the dataDir go', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'zkpeer-bad-snapshot-'))
  t.teardown(() => { rmSync(root, { recursive: true, force: true }) })
  const options: PeerOptions = { id: 'solo', ensemble: { solo: 'memory://bad-snapshot' }, dataDir: root, sync: false, tickMs: 10, snapshotEntries: 10, log: silentLogger }
  const peer = await Peer.start(options)
  await peer.ready()
  const zk = await peer.connect()
  for (let i = 0; i < 40; i++) await zk.create(`/n${i}`, Buffer.from(`value ${i}`))
  await until('a snapshot is stored', () => existsSync(join(root, 'snapshot')))
  await zk.close()
  await peer.stop()
  const file = join(root, 'snapshot')
  const bytes = readFileSync(file)
  bytes[bytes.length - 2] = bytes[bytes.length - 2]! ^ 0xff
  writeFileSync(file, bytes)
  await t.rejects(Peer.start(options), { name: 'StorageCorruptError', record: 'snapshot' })
  t.notOk(existsSync(join(root, 'LOCK')), 'the failed start closed its storage and released the dataDir\'s lock')
})
