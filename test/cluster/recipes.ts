/**
 * Runs recipes inside a peer child process for the cross-process recipe tests: each action
 * uses only the public recipe API, as an application instance would, and reports what it saw.
 */
import { Config, LeaderElection, Lock, Queue, ZkError, type Session } from '../../lib/index.js'
import type { RecipeAction } from './protocol.js'

/** Runs `action` on `zk`; `report` sends events to the parent. Resolves with the action's result. */
export async function runRecipe (zk: Session, action: RecipeAction, report: (kind: string, detail: unknown) => void): Promise<unknown> {
  switch (action.kind) {
    case 'lock-increment': {
      const lock = new Lock(zk, action.path)
      if (await zk.exists(action.counter) === null) await zk.create(action.counter, JSON.stringify({ value: 0, token: 0 })).catch(() => undefined)
      const tokens: number[] = []
      let violations = 0
      for (let i = 0; i < action.rounds; i++) {
        const lease = await lock.acquire({ timeoutMs: 30_000 })
        try {
          const { data, stat } = await zk.getData(action.counter)
          const seen = JSON.parse(data.toString()) as { value: number, token: number }
          // The token must exceed the one the previous holder wrote: fencing works across processes.
          if (lease.fencingToken <= seen.token) violations++
          await zk.setData(action.counter, JSON.stringify({ value: seen.value + 1, token: lease.fencingToken }), stat.version)
          tokens.push(lease.fencingToken)
        } finally {
          await lease.release()
        }
      }
      return { tokens, violations }
    }
    case 'lock-hold': {
      const lease = await new Lock(zk, action.path).acquire({ timeoutMs: action.timeoutMs })
      return lease.fencingToken
    }
    case 'elect': {
      const election = new LeaderElection(zk, action.path, { id: action.id })
      election.on('elected', () => report('elected', action.id))
      await election.start()
      return true
    }
    case 'config-watch': {
      const config = new Config(zk, action.path)
      config.on('change', (c: { key: string, value: unknown }) => report('config', `${c.key}=${String(c.value)}`))
      await config.start()
      return true
    }
    case 'config-set':
      await new Config(zk, action.path).set(action.key, action.value)
      return true
    case 'queue-put': {
      const queue = new Queue(zk, action.path)
      for (const item of action.items) await queue.put(item)
      return action.items.length
    }
    case 'queue-drain': {
      const queue = new Queue(zk, action.path)
      const taken: string[] = []
      for (;;) {
        try {
          taken.push((await queue.take({ timeoutMs: action.idleMs })).toString())
        } catch (err) {
          if (err instanceof ZkError && err.code === 'OPERATIONTIMEOUT') return taken
          throw err
        }
      }
    }
  }
}
