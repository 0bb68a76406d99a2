/**
 * One application instance of the demo: a process that embeds a zkpeer Peer and uses the
 * recipes an app would — membership, leader election among instances, replicated config and a
 * global lock — and reports what it sees to the demo's parent process over IPC.
 */
import { Config, LeaderElection, Lock, Membership, Peer } from '../lib/index.js'

/** What this instance reports to the parent. */
export type DemoEvent =
  | { readonly kind: 'started', readonly id: string }
  | { readonly kind: 'ensemble-leader', readonly id: string, readonly leader: string | undefined, readonly term: number }
  | { readonly kind: 'elected', readonly id: string }
  | { readonly kind: 'members', readonly id: string, readonly members: readonly string[] }
  | { readonly kind: 'config', readonly id: string, readonly key: string, readonly value: unknown }
  | { readonly kind: 'lock', readonly id: string, readonly state: 'acquired' | 'released', readonly token: number }
  | { readonly kind: 'failed', readonly id: string, readonly error: string }

/** What the parent asks of it. */
export type DemoCommand =
  | { readonly cmd: 'set-config', readonly key: string, readonly value: unknown }
  | { readonly cmd: 'take-lock', readonly holdMs: number }

const [id, ensembleJson] = process.argv.slice(2)
if (id === undefined || ensembleJson === undefined) {
  console.error('usage: demo-peer <id> <ensemble JSON> (started by the demo, not by hand)')
  process.exit(2)
}
const ensemble = JSON.parse(ensembleJson) as Record<string, string>
const report = (e: DemoEvent): void => { process.send?.(e) }

try {
  const peer = await Peer.start({ id, listen: ensemble[id], ensemble, sessionTimeoutMs: 2_000 })
  peer.on('leader', (leader: string | undefined) => report({ kind: 'ensemble-leader', id, leader, term: peer.term }))
  await peer.ready()
  const zk = await peer.connect({ sessionTimeoutMs: 2_000 })

  const members = new Membership(zk, '/demo/members', id, { pid: process.pid })
  members.on('change', (m: Map<string, unknown>) => report({ kind: 'members', id, members: [...m.keys()].sort() }))
  await members.join()

  const config = new Config(zk, '/demo/config')
  config.on('change', (c: { key: string, value: unknown }) => report({ kind: 'config', id, key: c.key, value: c.value }))
  await config.start()

  const election = new LeaderElection(zk, '/demo/app-leader', { id })
  election.on('elected', () => report({ kind: 'elected', id }))
  await election.start()

  const lock = new Lock(zk, '/demo/lock')
  process.on('message', (raw) => {
    const command = raw as DemoCommand
    const run = async (): Promise<void> => {
      if (command.cmd === 'set-config') {
        await config.set(command.key, command.value as string)
      } else {
        const held = await lock.acquire({ timeoutMs: 20_000 })
        report({ kind: 'lock', id, state: 'acquired', token: held.fencingToken })
        await new Promise((resolve) => setTimeout(resolve, command.holdMs))
        report({ kind: 'lock', id, state: 'released', token: held.fencingToken })
        await held.release()
      }
    }
    run().catch((err: unknown) => report({ kind: 'failed', id, error: String(err) }))
  })
  report({ kind: 'started', id })
} catch (err) {
  report({ kind: 'failed', id, error: err instanceof Error ? err.message : String(err) })
  process.exit(1)
}
// The demo going away must not leave this instance running.
process.on('disconnect', () => process.exit(0))
