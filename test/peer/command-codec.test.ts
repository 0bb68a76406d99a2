/**
 * Goal: every command a log entry can carry survives encode → stamp → decode exactly, and bytes
 * that are not a command fail with CommandDecodeError rather than a wrong command.
 * Method: round-trip one of each command and op kind, including non-ASCII text, empty and
 * binary data, ACLs and TTLs; then truncate and corrupt encodings.
 */
import t from 'tap'
import { CommandDecodeError } from '../../lib/command-codec.js'
import { decodeCommand, encodeCommand, isCommand, stampTime, type Command } from '../../lib/commands.js'

const acl = [{ perms: 31, id: { scheme: 'digest', id: 'bob:fyVmFCwVbTJYrznoSu1koqYEYF0=' } }, { perms: 1, id: { scheme: 'world', id: 'anyone' } }]
const commands: Command[] = [
  { t: 'open', origin: 'peer-ä', nonce: 'abc123', timeoutMs: 10_000, password: Buffer.from('0123456789abcdef') },
  { t: 'attach', sid: '18446744073709551615', origin: 'b', nonce: 'n2', password: Buffer.from([0, 255, 7]) },
  { t: 'close', sid: '18446744073709551615', expired: true, epoch: 0 },
  { t: 'close', sid: '7', expired: false, epoch: 4294967295 },
  { t: 'reap', path: '/containers/é' },
  {
    t: 'write', sid: '42', seq: 2 ** 40, auth: [{ scheme: 'ip', id: '127.0.0.1' }, { scheme: 'digest', id: 'u:x' }], multi: true,
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

t.test('decoded data is a copy that does not pin the entry', async (t) => {
  const bytes = encodeCommand(commands.find((c) => c.t === 'write')!)
  const { command } = decodeCommand(bytes)
  const data = (command as Extract<Command, { t: 'write' }>).ops[0]
  t.ok(data?.op === 'create' && data.data.buffer !== bytes.buffer)
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
