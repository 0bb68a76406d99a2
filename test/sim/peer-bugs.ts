/**
 * Session-level bugs, planted by test-only wrappers around a real Session (lib/ is untouched),
 * to prove the whole-peer history checkers catch what a faulty peer would do to its clients.
 */
import type { Stat } from '../../lib/tree/types.js'
import { honestSession, type SessionWrapper } from './peer-run.js'

/** `sync()` returns at once: the read after it is served from a possibly stale replica. */
const skipSync: SessionWrapper = (s, ctx) => ({
  ...honestSession(s, ctx),
  sync: async () => {},
})

/**
 * One setData in four is acknowledged without ever being proposed, with the stat the write
 * would have had on this replica: an acknowledgement before (here: without) commit.
 */
const phantomAck: SessionWrapper = (s, ctx) => ({
  ...honestSession(s, ctx),
  setData: async (path, data, version): Promise<Stat> => {
    if (ctx.random.intInclusive(0, 3) !== 0) return s.setData(path, data, version)
    const { stat } = await s.getData(path)
    return { ...stat, version: stat.version + 1, mzxid: stat.mzxid + 1 }
  },
})

/** The planted session bugs by name. */
export const plantedSessionBugs: Readonly<Record<string, SessionWrapper>> = {
  'sync that does not sync': skipSync,
  'acknowledge a write that was never committed': phantomAck,
}
