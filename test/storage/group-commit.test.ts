/**
 * Goal: the group commit's order. Writes submitted while a batch is in flight share the next
 * batch; writers resolve in call order; and what a writer does once its batch is durable — its
 * continuation, and an immediate it queues (as the transport does to flush acknowledgements) —
 * runs before the next batch is committed, since committing may block the event loop.
 * Method: a GroupCommit over a commit function that records each batch and completes when the
 * test says, with the `setImmediate` gather FileStorage uses. No timing is asserted.
 */
import t from 'tap'
import { GroupCommit } from '../../storage/group-commit.js'

const nextImmediate = (): Promise<void> => new Promise((resolve) => { setImmediate(resolve) })

t.test('a durable writer sends before the next batch is committed', async (t) => {
  const events: string[] = []
  const pending: Array<() => void> = []
  const queue = new GroupCommit<string>((ops) => {
    events.push(`commit ${ops.join(',')}`)
    return new Promise<void>((resolve) => { pending.push(resolve) })
  }, nextImmediate)
  const write = (op: string): Promise<void> => queue.submit([op]).then(() => {
    events.push(`durable ${op}`)
    // What a peer does once durable: hand an acknowledgement to a transport that flushes on an immediate.
    setImmediate(() => { events.push(`flush ${op}`) })
  })
  const a = write('a')
  await nextImmediate()
  t.same(events, ['commit a'], 'the first batch is cut at the gather')
  const b = write('b')
  const c = write('c')
  pending.shift()!()
  await a
  while (pending.length === 0) await nextImmediate()
  t.same(events, ['commit a', 'durable a', 'flush a', 'commit b,c'], 'the writes queued meanwhile share the next batch, after the first writer flushed')
  pending.shift()!()
  await Promise.all([b, c])
  t.same(events.slice(4), ['durable b', 'durable c'], 'writers resolve in call order')
  await queue.drain()
})
