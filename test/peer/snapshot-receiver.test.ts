/**
 * Goal: a follower decodes a snapshot from the core's pieces as they come — across pieces cut
 * anywhere, starting over on a piece at offset 0 or a discard, refusing pieces out of order or
 * an install of a snapshot not received whole — and returns the bytes only to a storage that
 * stores them.
 * Method: a state machine with a few znodes, snapshotted and cut into pieces by hand.
 */
import t from 'tap'
import { encodeCommand, stampTime } from '../../lib/commands.js'
import type { SnapshotMeta, SnapshotPiece } from '../../lib/consensus/types.js'
import { SnapshotReceiver } from '../../lib/snapshot-receiver.js'
import { StateMachine } from '../../lib/state-machine.js'

const password = Buffer.from('sixteen-byte-pwd')
function stamped (c: Parameters<typeof encodeCommand>[0]): Uint8Array {
  const d = encodeCommand(c)
  stampTime(d, 1000)
  return d
}

/** A state machine with a session and `n` znodes, and its snapshot. */
function state (n: number): { sm: StateMachine, bytes: Uint8Array } {
  const sm = new StateMachine()
  sm.apply({ index: 1, term: 1, data: stamped({ t: 'open', origin: 'a', nonce: 'n', timeoutMs: 5000, password }) })
  for (let i = 0; i < n; i++) {
    sm.apply({
      index: i + 2,
      term: 1,
      data: stamped({
        t: 'write', sid: 1n, seq: i + 1, auth: [], multi: false,
        ops: [{ op: 'create', path: `/n${i}`, data: Buffer.alloc(50, i), acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }], mode: 0 }],
      }),
    })
  }
  return { sm, bytes: sm.snapshot() }
}

/** `bytes` cut into pieces of `size` of a transfer of `meta` in `term`. */
function cut (bytes: Uint8Array, size: number, meta: SnapshotMeta, term = 1): SnapshotPiece[] {
  const pieces: SnapshotPiece[] = []
  for (let at = 0; at < bytes.length; at += size) pieces.push({ meta, term, offset: at, totalBytes: bytes.length, data: bytes.subarray(at, at + size) })
  return pieces
}

function receiver (keepBytes: boolean, stepBytes = 7): { r: SnapshotReceiver, breaths: () => number } {
  let breaths = 0
  const r = new SnapshotReceiver(keepBytes, stepBytes, async () => { breaths++ }, () => 0)
  return { r, breaths: () => breaths }
}

t.test('pieces cut anywhere decode to the same state, with a breath between steps', async (t) => {
  const { sm, bytes } = state(30)
  const meta = { index: sm.appliedIndex, term: 1, voters: ['a'] }
  const { r, breaths } = receiver(false)
  const pieces = cut(bytes, 101, meta)
  t.ok(pieces.length > 5, 'several pieces')
  await r.take(pieces.slice(0, 2))
  t.equal(r.receivedBytes, 202)
  await r.take(pieces.slice(2))
  const got = r.finish(meta)
  t.equal(got.sm.appliedIndex, sm.appliedIndex)
  t.same(got.sm.tree.getChildren('/', []).length, 31, '30 znodes and /zookeeper')
  t.same(Buffer.from(got.sm.snapshot()), Buffer.from(bytes), 'it encodes back to the same bytes')
  t.equal(got.data.length, 0, 'no bytes kept for a storage that stores none')
  t.equal(got.bytes, bytes.length)
  t.ok(breaths() >= Math.floor(bytes.length / 7), 'the event loop ran between steps')
})

t.test('a storage that stores snapshots gets the bytes joined', async (t) => {
  const { sm, bytes } = state(5)
  const meta = { index: sm.appliedIndex, term: 1, voters: ['a'] }
  const { r } = receiver(true, 1 << 20)
  await r.take(cut(bytes, 64, meta))
  t.same(Buffer.from(r.finish(meta).data), Buffer.from(bytes))
})

t.test('a transfer that starts over, or is discarded, leaves nothing of the earlier one', async (t) => {
  const { sm, bytes } = state(10)
  const meta = { index: sm.appliedIndex, term: 1, voters: ['a'] }
  const { r } = receiver(false)
  const first = cut(bytes, 50, meta)
  await r.take(first.slice(0, 3))
  // A new leader (term 2) sends it again from the start.
  await r.take(cut(bytes, 64, meta, 2))
  t.equal(r.finish(meta).sm.appliedIndex, sm.appliedIndex, 'decoded from the second transfer alone')

  await r.take(first.slice(0, 3))
  r.discard()
  t.equal(r.receivedBytes, 0)
  t.throws(() => r.finish(meta), 'nothing to install after a discard')
  await t.rejects(r.take(first.slice(3, 4)), 'a piece that does not follow what is held is refused')
})

t.test('a snapshot not received whole, or not the one received, is not installed', async (t) => {
  const { sm, bytes } = state(10)
  const meta = { index: sm.appliedIndex, term: 1, voters: ['a'] }
  const pieces = cut(bytes, 50, meta)
  const { r } = receiver(false)
  await r.take(pieces.slice(0, -1))
  t.throws(() => r.finish(meta), 'the last piece is missing')
  await r.take(pieces)
  t.throws(() => r.finish({ ...meta, index: meta.index + 1 }), 'another snapshot than the one received')
})
