/**
 * Goal: every command a log entry can carry survives encode → stamp → decode exactly, and bytes
 * that are not a command fail with CommandDecodeError rather than a wrong command.
 * Method: round-trip one of each command and op kind, including non-ASCII text, empty and
 * binary data, ACLs and TTLs; then truncate and corrupt encodings.
 */
import t from 'tap'
import { CommandDecodeError } from '../../lib/command-codec.js'
import { copyCommand, decodeCommand, encodeCommand, isCommand, stampTime, type Command } from '../../lib/commands.js'

const acl = [{ perms: 31, id: { scheme: 'digest', id: 'bob:fyVmFCwVbTJYrznoSu1koqYEYF0=' } }, { perms: 1, id: { scheme: 'world', id: 'anyone' } }]
const commands: Command[] = [
  { t: 'open', origin: 'peer-ä', nonce: 'abc123', timeoutMs: 10_000, password: Buffer.from('0123456789abcdef') },
  { t: 'attach', sid: '18446744073709551615', origin: 'b', nonce: 'n2', password: Buffer.from([0, 255, 7]) },
  { t: 'close', sid: '18446744073709551615', expired: true, epoch: 0 },
  { t: 'close', sid: '7', expired: false, epoch: 4294967295 },
  { t: 'reap', path: '/containers/é' },
  {
    t: 'write', sid: 42n, seq: 2 ** 40, auth: [{ scheme: 'ip', id: '127.0.0.1' }, { scheme: 'digest', id: 'u:x' }], multi: true,
    ops: [
      { op: 'create', path: '/a/ünïcode', data: Buffer.from([0, 255, 1]), acl, mode: 3 },
      { op: 'create', path: '/ttl', data: Buffer.alloc(0), acl, mode: 5, ttlMs: 1099511627775 },
      { op: 'delete', path: '/d', version: -1 },
      { op: 'setData', path: '/s', data: Buffer.from('x'.repeat(1000)), version: 2147483647 },
      { op: 'setACL', path: '/acl', acl, version: 0 },
      { op: 'check', path: '/c', version: 3 },
    ],
  },
]

t.test('every command and op round-trips exactly, with the stamped time', async (t) => {
  for (const c of commands) {
    const bytes = encodeCommand(c)
    stampTime(bytes, 1_732_550_000_123.5)
    const { timeMs, command } = decodeCommand(bytes)
    t.equal(timeMs, 1_732_550_000_123.5)
    t.same(command, c, c.t)
  }
})

t.test('decoded data is a view of the entry, and apply keeps its own copy', async (t) => {
  const bytes = encodeCommand(commands.find((c) => c.t === 'write')!)
  const { command } = decodeCommand(bytes)
  const op = (command as Extract<Command, { t: 'write' }>).ops[0]
  t.ok(op?.op === 'create' && op.data.buffer === bytes.buffer, 'no copy per decode (test/peer/state-machine checks the tree copies)')
})

t.test('commands carved from shared memory stay apart, and large ones get their own', async (t) => {
  const write = (path: string, bytes: number): Command => ({
    t: 'write', sid: 7n, seq: 1, auth: [], multi: false, ops: [{ op: 'setData', path, data: Buffer.alloc(bytes, path.length), version: -1 }],
  })
  const cases = Array.from({ length: 2000 }, (_, i) => write(`/n${i}`, i % 7 === 0 ? 20_000 : i % 300))
  const encoded = cases.map((c) => encodeCommand(c))
  encoded.forEach((e, i) => stampTime(e, i))
  const wrong = encoded.filter((e, i) => {
    const { timeMs, command } = decodeCommand(e)
    const op = (command as Extract<Command, { t: 'write' }>).ops[0] as { path: string, data: Uint8Array }
    const want = (cases[i] as Extract<Command, { t: 'write' }>).ops[0] as { path: string, data: Uint8Array }
    return timeMs !== i || op.path !== want.path || !Buffer.from(op.data).equals(want.data)
  })
  t.equal(wrong.length, 0, 'every command decodes to itself, with its own time')
  t.same(decodeCommand(encoded[7]!).command, cases[7])
  t.ok(encoded[1]!.buffer === encoded[2]!.buffer, 'small commands share a slab')
  t.ok(encoded[7]!.buffer !== encoded[6]!.buffer && encoded[7]!.buffer !== encoded[8]!.buffer, 'a large command is not in a slab')
  t.same([...encodeCommand(commands[3]!).subarray(0, 8)], [0, 0, 0, 0, 0, 0, 0, 0], 'the time header starts zero')
  const copy = copyCommand(encoded[5]!)
  t.not(copy.buffer, encoded[5]!.buffer)
  t.same([...copy], [...encoded[5]!])
})

t.test('repeated auth ids and ACLs decode to equal values each time', async (t) => {
  const c = commands.find((x) => x.t === 'write') as Extract<Command, { t: 'write' }>
  const a = decodeCommand(encodeCommand(c)).command
  const b = decodeCommand(encodeCommand({ ...c, auth: [{ scheme: 'ip', id: '127.0.0.2' }] })).command
  const d = decodeCommand(encodeCommand(c)).command
  t.same(a, c)
  t.same(b, { ...c, auth: [{ scheme: 'ip', id: '127.0.0.2' }] }, 'a different list of the same length is not mistaken for the last one')
  t.same(d, c)
})

t.test('a reused buffer never makes a new auth list decode as the one remembered from it', async (t) => {
  const write = (id: string): Command => ({ t: 'write', sid: 1n, seq: 1, auth: [{ scheme: 'ip', id }], multi: false, ops: [{ op: 'delete', path: '/x', version: -1 }] })
  // A network frame that the transport refills: decode from it, then overwrite it in place.
  const frame = Uint8Array.from(encodeCommand(write('10.0.0.1')))
  t.same(decodeCommand(frame).command, write('10.0.0.1'))
  frame.set(encodeCommand(write('10.0.0.2')))
  t.same(decodeCommand(Uint8Array.from(frame)).command, write('10.0.0.2'), 'decoded from the new bytes, not the remembered value')
  t.same(decodeCommand(Uint8Array.from(encodeCommand(write('10.0.0.1')))).command, write('10.0.0.1'))
})

t.test('truncated, extended or unknown bytes fail with CommandDecodeError', async (t) => {
  for (const c of commands) {
    const bytes = encodeCommand(c)
    for (const cut of [9, Math.floor(bytes.length / 2), bytes.length - 1]) {
      t.throws(() => decodeCommand(bytes.subarray(0, cut)), CommandDecodeError, `${c.t} cut at ${cut}`)
    }
    const longer = new Uint8Array(bytes.length + 1)
    longer.set(bytes)
    t.throws(() => decodeCommand(longer), CommandDecodeError, `${c.t} with a trailing byte`)
  }
  const bad = encodeCommand(commands[3]!)
  bad[8] = 99
  t.throws(() => decodeCommand(bad), /unknown command tag 99/)
})

t.test('isCommand tells commands from garbage', async (t) => {
  t.ok(isCommand(encodeCommand(commands[0]!)))
  t.notOk(isCommand(new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 3, 1, 2])))
  t.notOk(isCommand(new Uint8Array(4)), 'shorter than the header')
})
