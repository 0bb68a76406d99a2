/**
 * Goal: the jute reader/writer round-trips every field type and refuses truncated or
 * out-of-limit input with JuteError instead of reading past the buffer.
 * Method: pure unit tests on buffers; no sockets.
 */
import t from 'tap'
import { JuteError, JuteReader, JuteWriter } from '../../lib/wire/jute.js'

t.test('round trip', async (t) => {
  const w = new JuteWriter(4).int(-7).long(2n ** 40n).boolean(true).buffer(Buffer.from('ab')).buffer(null)
    .ustring('zk✓').ustring(null).vector(['x', 'yz'], (x, s) => x.ustring(s))
  const f = w.frame()
  t.equal(f.readInt32BE(0), f.length - 4)
  const r = new JuteReader(f.subarray(4))
  t.equal(r.int(), -7)
  t.equal(r.long(), 2n ** 40n)
  t.equal(r.boolean(), true)
  t.equal(r.buffer().toString(), 'ab')
  t.equal(r.bufferOrNull(), null)
  t.equal(r.ustring(), 'zk✓')
  t.equal(r.ustringOrNull(), null)
  t.same(r.vector((x) => x.ustring()), ['x', 'yz'])
  t.equal(r.remaining, 0)
})

t.test('bounds', async (t) => {
  t.throws(() => new JuteReader(Buffer.from([0, 0])).int(), JuteError)
  t.throws(() => new JuteReader(Buffer.from([0, 0, 0, 9, 1])).buffer(), JuteError, 'length past the end')
  t.throws(() => new JuteReader(Buffer.from([0xff, 0xff, 0xff, 0xf0])).buffer(), JuteError, 'negative length')
  t.throws(() => new JuteReader(Buffer.from([0, 0, 0, 3, 1, 2, 3]), { maxFieldBytes: 2 }).buffer(), JuteError, 'over the field limit')
  t.throws(() => new JuteReader(Buffer.from([0x7f, 0, 0, 0])).vector((x) => x.int()), JuteError, 'absurd vector count')
  t.throws(() => new JuteReader(Buffer.from([0, 0, 0, 1])).ustring(), JuteError)
})
