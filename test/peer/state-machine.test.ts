/**
 * Goal: the replicated state machine applies entries deterministically — sessions get the
 * zxid of their open as id, writes of a session apply once and in order, and an entry that is
 * not a command is skipped the same way on every replica instead of stopping the peer.
 * Method: apply hand-built entries to StateMachine directly.
 */
import t from 'tap'
import { encodeCommand, stampTime } from '../../lib/commands.js'
import { StateMachine } from '../../lib/state-machine.js'

const entry = (index: number, data: Uint8Array): { index: number, term: number, data: Uint8Array } => ({ index, term: 1, data })
const stamped = (c: Parameters<typeof encodeCommand>[0], at = 1000): Uint8Array => {
  const d = encodeCommand(c)
  stampTime(d, at)
  return d
}
const password = Buffer.from('sixteen-byte-pwd')
const create = (sid: bigint, seq: number, path: string): Uint8Array => stamped({
  t: 'write', sid, seq, auth: [], multi: false,
  ops: [{ op: 'create', path, data: new Uint8Array(0), acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }], mode: 0 }],
})

t.test('sessions, sequence numbers, and entries that are not commands', async (t) => {
  const sm = new StateMachine()
  const opened = sm.apply(entry(1, stamped({ t: 'open', origin: 'a', nonce: 'n', timeoutMs: 5000, password })))
  t.same(opened, { t: 'open', origin: 'a', nonce: 'n', sessionId: 1n }, 'a session id is the zxid of its open')
  t.match(sm.apply(entry(2, create(1n, 1, '/x'))), { t: 'write', verdict: 'apply', result: { ok: true } })
  t.match(sm.apply(entry(3, create(1n, 1, '/x'))), { t: 'write', verdict: 'duplicate' }, 'a re-sent copy is skipped')
  t.match(sm.apply(entry(4, create(1n, 3, '/z'))), { t: 'write', verdict: 'gap' }, 'one past a lost write waits')
  t.match(sm.apply(entry(5, create(1n, 2, '/y'))), { t: 'write', verdict: 'apply' })
  t.match(sm.apply(entry(6, create(9n, 1, '/q'))), { t: 'write', verdict: 'unknown-session' })
  t.same(sm.apply(entry(7, new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 77]))), { t: 'noop' }, 'garbage is skipped')
  t.equal(sm.appliedIndex, 7)
  t.same(sm.tree.getChildren('/', []), ['x', 'y', 'zookeeper'])
  const copy = StateMachine.restore(sm.snapshot())
  t.equal(copy.appliedIndex, 7)
  t.same(copy.tree.getChildren('/', []), ['x', 'y', 'zookeeper'])
  t.match(copy.apply(entry(8, create(1n, 3, '/z'))), { verdict: 'apply' }, 'the restored table continues the sequence')
})

t.test('a re-sent open names the session its first copy created', async (t) => {
  const sm = new StateMachine()
  const open = stamped({ t: 'open', origin: 'a', nonce: 'same', timeoutMs: 5000, password })
  t.match(sm.apply(entry(1, open)), { sessionId: 1n })
  t.match(sm.apply(entry(2, open)), { sessionId: 1n }, 'the duplicate resolves to session 1')
  t.equal(sm.sessions.size, 1, 'and creates no ghost session')
  t.equal(StateMachine.restore(sm.snapshot()).sessions.openedBy('a', 'same'), 1n, 'the snapshot keeps the nonce')
})

t.test('a session moves with its password; the old owner\'s writes and close no longer apply', async (t) => {
  const sm = new StateMachine()
  sm.apply(entry(1, stamped({ t: 'open', origin: 'a', nonce: 'n', timeoutMs: 5000, password })))
  t.match(sm.apply(entry(2, create(1n, 1, '/eph'))), { verdict: 'apply' })
  const wrong = stamped({ t: 'attach', sid: '1', origin: 'b', nonce: 'm', password: Buffer.from('sixteen-byte-pwX') })
  t.match(sm.apply(entry(3, wrong)), { t: 'attach', verdict: 'refused' }, 'a wrong password is refused')
  t.match(sm.apply(entry(4, stamped({ t: 'attach', sid: '99', origin: 'b', nonce: 'm', password }))), { verdict: 'refused' }, 'so is an unknown session')
  t.equal(sm.sessions.get(1n)?.owner, 'a', 'and neither moved it')
  const attach = stamped({ t: 'attach', sid: '1', origin: 'b', nonce: 'm', password })
  t.match(sm.apply(entry(5, attach)), { t: 'attach', verdict: 'attached', previousOwner: 'a', sessionId: 1n })
  const record = sm.sessions.get(1n)
  t.match(record, { owner: 'b', epoch: 1, nextSeq: 2 ** 32 + 1 }, 'a new epoch with its own sequence numbers')
  t.match(sm.apply(entry(6, attach)), { verdict: 'duplicate' }, 'a re-sent copy of the attach is not a second move')
  t.equal(sm.sessions.get(1n)?.epoch, 1)
  t.match(sm.apply(entry(7, create(1n, 2, '/late'))), { verdict: 'duplicate' }, 'a write the old owner had in flight is never applied')
  t.match(sm.apply(entry(8, create(1n, 2 ** 32 + 1, '/new'))), { verdict: 'apply' }, 'the new owner\'s first write applies')
  t.match(sm.apply(entry(9, stamped({ t: 'close', sid: '1', expired: false, epoch: 0 }))), { t: 'close', wasLive: false }, 'a close from before the move is ignored')
  t.ok(sm.tree.exists('/eph', []) !== null && sm.sessions.get(1n) !== undefined, 'the session lives on')
  const copy = StateMachine.restore(sm.snapshot())
  t.match(copy.sessions.get(1n), { owner: 'b', epoch: 1, nextSeq: 2 ** 32 + 2 }, 'the snapshot keeps owner, epoch and sequence')
  t.same(Buffer.from(copy.sessions.get(1n)?.password ?? []), password, 'and the password')
  t.match(copy.apply(entry(10, attach)), { verdict: 'duplicate' }, 'and the last attach')
  t.match(copy.apply(entry(11, stamped({ t: 'close', sid: '1', expired: true, epoch: 1 }))), { t: 'close', wasLive: true })
})

t.test('the tree keeps its own copy of written data, never a view of the entry', async (t) => {
  // Decoding hands apply views into the entry (command-codec.ts); the entry's memory is shared
  // with other entries and reused once compacted, so what the tree stores must not alias it.
  const sm = new StateMachine()
  sm.apply(entry(1, stamped({ t: 'open', origin: 'a', nonce: 'n', timeoutMs: 5000, password })))
  const write = (seq: number, op: 'create' | 'setData', path: string, text: string): Uint8Array => stamped({
    t: 'write', sid: 1n, seq, auth: [], multi: false,
    ops: [op === 'create'
      ? { op, path, data: Buffer.from(text), acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }], mode: 0 }
      : { op, path, data: Buffer.from(text), version: -1 }],
  })
  const created = write(1, 'create', '/c', 'first')
  const set = write(3, 'setData', '/s', 'second')
  sm.apply(entry(2, created))
  sm.apply(entry(3, write(2, 'create', '/s', '')))
  sm.apply(entry(4, set))
  const multi = stamped({ t: 'write', sid: 1n, seq: 4, auth: [], multi: true, ops: [{ op: 'setData', path: '/c', data: Buffer.from('third'), version: -1 }] })
  sm.apply(entry(5, multi))
  created.fill(0x21)
  set.fill(0x21)
  multi.fill(0x21)
  t.equal(sm.tree.getData('/c', []).data.toString(), 'third')
  t.equal(sm.tree.getData('/s', []).data.toString(), 'second')
})
