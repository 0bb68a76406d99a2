/**
 * Goal: the frame decoder reassembles frames however the bytes are split, refuses an
 * oversize frame from its header alone, refuses undecodable payloads, and the handshake
 * state machines agree with equal secrets and refuse otherwise.
 * Method: pure calls, no sockets.
 */
import t from 'tap'
import { concatFrames, encodeFrame, encodePayload, encodeSplicedPayload, FrameDecoder, FrameError, SPLICE_MIN_BYTES } from '../../transports/framing.js'
import { ClientHandshake, HandshakeError, ServerHandshake } from '../../transports/handshake.js'

t.test('frames survive any chunking', async (tt) => {
  const messages = [{ a: 1 }, 'text', [1, 2, 3], { data: new Uint8Array([9, 8, 7]) }, null]
  const payloads = messages.map(encodePayload)
  const stream = concatFrames(payloads, payloads.reduce((s, p) => s + p.length, 0))
  for (const step of [1, 2, 3, 5, 7, stream.length]) {
    const got: unknown[] = []
    const d = new FrameDecoder(1024, (m) => got.push(m))
    for (let i = 0; i < stream.length; i += step) d.push(stream.subarray(i, i + step))
    tt.same(got, messages.map((m) => (m !== null && typeof m === 'object' && 'data' in m) ? { data: Buffer.from([9, 8, 7]) } : m), `chunks of ${step}`)
    tt.equal(d.bufferedBytes, 0)
  }
})

t.test('binary values never pin a socket chunk; from a frame copied together they are views of it', async (tt) => {
  const payloads = [encodePayload({ data: Buffer.alloc(1000, 1) }), encodePayload({ data: Buffer.alloc(1000, 2) })]
  const stream = concatFrames(payloads, payloads[0]!.length + payloads[1]!.length)
  const whole: Array<{ data: Buffer }> = []
  new FrameDecoder(4096, (m) => whole.push(m as { data: Buffer })).push(Buffer.from(stream))
  tt.equal(whole[0]!.data.buffer.byteLength, 1000, 'within one chunk: a copy of its own')
  const split: Array<{ data: Buffer }> = []
  const d = new FrameDecoder(4096, (m) => split.push(m as { data: Buffer }))
  const input = Buffer.from(stream)
  for (let i = 0; i < input.length; i += 300) d.push(input.subarray(i, i + 300))
  input.fill(0)
  tt.same(split.map((m) => m.data[0]), [1, 2], 'the input chunks can be reused')
  tt.same(split.map((m) => m.data.buffer.byteLength), payloads.map((p) => p.length), 'spanning chunks: a view of its own frame, no second copy')
})

t.test('a large trailing binary is written after its message without a copy, as the same bytes', async (tt) => {
  const big = new Uint8Array(new SharedArrayBuffer(SPLICE_MIN_BYTES + 10)).fill(7)
  const message = { k: 'raft', m: { type: 'snap', offset: 3, done: false, data: big.subarray(5) } }
  const spliced = encodeSplicedPayload(message)
  if (!('pieces' in spliced)) throw new Error('not spliced')
  tt.equal(spliced.pieces.at(-1)!.buffer, big.buffer, 'the binary is a view of the caller\'s bytes')
  const joined = Buffer.concat(spliced.pieces)
  tt.equal(joined.length, spliced.length)
  tt.same(joined, encodePayload(message), 'the same payload as encoded in one piece')
  const got: unknown[] = []
  new FrameDecoder(1 << 20, (m) => got.push(m)).push(concatFrames([joined], joined.length))
  tt.same(got, [{ ...message, m: { ...message.m, data: Buffer.from(big.subarray(5)) } }], 'and it decodes as the message')
  for (const whole of [
    { data: big.subarray(0, SPLICE_MIN_BYTES - 1) },
    { data: big, after: 1 },
    [big],
  ]) tt.ok(encodeSplicedPayload(whole) instanceof Buffer, 'a smaller binary, one not last, or in an array: one piece')
})

t.test('an oversize header is refused before its payload arrives', async (tt) => {
  const d = new FrameDecoder(100, () => {})
  const frame = encodeFrame({ big: 'x'.repeat(200) })
  tt.throws(() => d.push(frame.subarray(0, 4)), { name: 'FrameError', reason: 'oversize' })
  tt.equal(d.bufferedBytes, 0, 'nothing kept')
  tt.throws(() => d.push(Buffer.from([1])), FrameError, 'a failed decoder stays failed')
})

t.test('an undecodable payload is refused', async (tt) => {
  const d = new FrameDecoder(100, () => {})
  tt.throws(() => d.push(Buffer.from([0, 0, 0, 2, 0x92, 0x01])), { name: 'FrameError', reason: 'undecodable' })
})

t.test('handshake: equal secrets authenticate both ways; others are refused', async (tt) => {
  const run = (clientSecret: string | undefined, serverSecret: string | undefined, known = true): string => {
    const c = new ClientHandshake({ id: 'c', secret: clientSecret }, 's')
    const s = new ServerHandshake({ id: 's', secret: serverSecret }, () => known)
    try {
      const challenge = s.receive(c.hello()).reply
      const auth = c.receive(challenge)
      const welcome = s.receive(auth.reply)
      tt.equal(welcome.peer, 'c')
      tt.equal(c.receive(welcome.reply).done, true)
      return 'ok'
    } catch (err) {
      tt.ok(err instanceof HandshakeError)
      return (err as Error).message
    }
  }
  tt.equal(run('k', 'k'), 'ok')
  tt.equal(run(undefined, undefined), 'ok')
  tt.match(run('k', 'other'), /wrong secret/)
  tt.match(run('k', undefined), /did not prove/)
  tt.match(run(undefined, 'k'), /secret/)
  tt.match(run('k', 'k', false), /not in the configured peers/)
  const c = new ClientHandshake({ id: 'c', secret: undefined }, 'expected')
  const s = new ServerHandshake({ id: 'impostor', secret: undefined }, () => true)
  tt.throws(() => c.receive(s.receive(c.hello()).reply), /dialed expected but impostor answered/)
})
