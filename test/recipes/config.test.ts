/**
 * Goal: Config changes are seen by every session on every peer, each exactly once and in the
 * same order; get/all reflect them; stop() leaves no watch.
 * Method: three peers, one Config per peer; concurrent writers on all peers; compare event logs.
 */
import t from 'tap'
import { Config, type ConfigChange } from '../../lib/recipes/index.js'
import { sessions, threePeers, until, watches } from './helpers.js'

t.test('every peer sees every change in the same order', async (t) => {
  const { peers } = await threePeers(t)
  const zks = (await Promise.all(peers.map((p) => sessions(t, p, 1)))).flat()
  const configs = zks.map((zk) => new Config(zk, '/config/app'))
  const logs: ConfigChange[][] = configs.map(() => [])
  for (const [i, c] of configs.entries()) {
    await c.start()
    c.on('change', (ch: ConfigChange) => logs[i]!.push(ch))
  }
  const writes = 10
  await Promise.all(configs.map(async (c, i) => {
    for (let n = 0; n < writes; n++) await c.set(n % 2 === 0 ? 'shared' : `k${i}`, { by: i, n }, { timeoutMs: 10_000 })
  }))
  await configs[0]!.delete('k0')
  const total = configs.length * writes + 1
  await until(() => logs.every((l) => l.length === total), 10_000, 'every change everywhere')
  t.same(logs[1], logs[0], 'peer b saw what peer a saw')
  t.same(logs[2], logs[0], 'peer c saw what peer a saw')
  t.same(logs[0]!.map((c) => c.rev), Array.from({ length: total }, (_, i) => i + 1), 'each revision once, in order')
  t.same(logs[0]!.at(-1), { key: 'k0', value: undefined, rev: total })
  t.equal(await configs[2]!.get('k0'), undefined)
  t.same(await configs[2]!.get('k1'), { by: 1, n: writes - 1 })
  t.same(Object.keys(await configs[1]!.all()).sort(), ['k1', 'k2', 'shared'])
  for (const c of configs) await c.stop()
  t.equal(watches(...peers), 0)
})
