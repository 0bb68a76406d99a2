/**
 * Goal: a message with the wrong shape is rejected before it reaches the core, and every
 * message the core really sends is accepted.
 * Method: run a 3-core exchange in memory, pass every sent message through asMessage; then
 * break fields one at a time.
 */
import t from 'tap'
import { asMessage } from '../../lib/consensus/message-check.js'
import { RaftCore } from '../../lib/consensus/core.js'
import type { Message } from '../../lib/consensus/messages.js'

t.test('every message three cores exchange passes the check', async (t) => {
  const ids = ['a', 'b', 'c']
  let seed = 1
  const cores = new Map(ids.map((id) => [id, new RaftCore({
    id, voters: ids, random: (min, max) => min + ((seed = (seed * 48271) % 2147483647) % (max - min + 1)),
    durable: { hardState: { term: 0, vote: null, commit: 0 }, snapshot: undefined, entries: [] },
  })]))
  const seen = new Set<string>()
  for (let step = 0; step < 400; step++) {
    for (const core of cores.values()) core.tick()
    if (step === 100) for (const core of cores.values()) core.propose(Buffer.from('x'))
    for (const core of cores.values()) {
      while (core.hasReady()) {
        const rd = core.ready()
        for (const m of rd.messages as Message[]) {
          seen.add(m.type)
          if (asMessage(m) === undefined) t.fail(`rejected a real ${m.type}: ${JSON.stringify(m)}`)
          cores.get(m.to)?.step(m)
        }
        core.advance(rd)
      }
    }
  }
  t.ok(seen.has('app') && seen.has('appResp') && seen.has('hb') && seen.has('preVote') && seen.has('vote'), `saw ${[...seen].join(', ')}`)
})

t.test('wrong shapes are rejected', async (t) => {
  const base = { from: 'a', to: 'b', term: 3 }
  t.ok(asMessage({ ...base, type: 'hb', commit: 1, seq: 0 }))
  t.ok(asMessage({ ...base, type: 'hb', commit: 1, seq: 0, ahead: 2, aheadTerm: 3 }), 'with the optional commit past the match')
  for (const bad of [
    null, 'hb', 42,
    { ...base, type: 'nope' },
    { ...base, type: 'hb', commit: '1', seq: 0 },
    { ...base, type: 'hb', commit: -1, seq: 0 },
    { ...base, type: 'hb', commit: 1.5, seq: 0 },
    { ...base, type: 'hb', commit: 1, seq: 0, ahead: -2, aheadTerm: 3 },
    { ...base, type: 'hb', commit: 1, seq: 0, ahead: 2, aheadTerm: '3' },
    { ...base, term: undefined, type: 'hb', commit: 1, seq: 0 },
    { ...base, type: 'app', index: 1, logTerm: 1, commit: 1, entries: [{ index: 2, term: 1, data: 'x' }] },
    { ...base, type: 'app', index: 1, logTerm: 1, commit: 1, entries: {} },
    { ...base, type: 'snap', meta: { index: 1, term: 1, voters: [1] }, offset: 0, totalBytes: 1, data: new Uint8Array(1), done: true },
    { ...base, type: 'prop', data: [new Uint8Array(0)] },
  ]) t.equal(asMessage(bad), undefined, JSON.stringify(bad))
})
