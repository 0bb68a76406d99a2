/**
 * ZooKeeper's four-letter words (`ruok`, `srvr`, `stat`, `mntr`, `conf`, `cons`, `wchs`, `envi`,
 * `isro`), answered on the client port: a client sends the four ASCII bytes as the first bytes
 * of a connection, the server writes the text and closes. Formats follow ZooKeeper's
 * `FourLetterCommands` output line by line, so scripts that parse them (monitoring checks,
 * `echo mntr | nc`) work unchanged; the values come from `peer.status()` and the server's own
 * connection counters.
 *
 * Owns only formatting: it reads a snapshot handed in by the server and never touches sockets.
 */
import os from 'node:os'
import type { PeerStatus } from '../peer.js'

/** The words this server answers. */
export const FOUR_LETTER_WORDS = ['ruok', 'srvr', 'stat', 'mntr', 'conf', 'cons', 'wchs', 'envi', 'isro'] as const
/** One of {@link FOUR_LETTER_WORDS}. */
export type FourLetterWord = typeof FOUR_LETTER_WORDS[number]

/** The version string reported: ZooKeeper's protocol level, then what actually serves it. */
export const SERVER_VERSION = '3.9.0-zkpeer, built on 1970-01-01 00:00 UTC'

/** One client connection as `stat` and `cons` report it. */
export interface ConnectionInfo {
  readonly remote: string
  readonly received: number
  readonly sent: number
  readonly queued: number
  readonly sessionId: bigint | undefined
  readonly timeoutMs: number | undefined
  readonly lastOp: string
  readonly lastCxid: number
  readonly lastZxid: number
  readonly establishedMs: number
  readonly lastResponseMs: number
  readonly minLatencyMs: number
  readonly maxLatencyMs: number
  readonly avgLatencyMs: number
  readonly watchedPaths: number
}

/** What the server knows when it answers a word. */
export interface FourLetterContext {
  readonly status: PeerStatus
  /** Number of voting members, to tell a one-member ensemble ("standalone") from a leader. */
  readonly ensembleSize: number | undefined
  readonly clientPort: number
  readonly clientHost: string
  readonly maxPacketBytes: number
  /** Further `conf` lines, in ZooKeeper's names (tickTime, minSessionTimeout, dataDir…). */
  readonly settings: Readonly<Record<string, string | number>>
  readonly connections: readonly ConnectionInfo[]
  readonly received: number
  readonly sent: number
  readonly minLatencyMs: number
  readonly avgLatencyMs: number
  readonly maxLatencyMs: number
}

/** True if `text` is one of the words answered here. */
export function isFourLetterWord (text: string): text is FourLetterWord {
  return (FOUR_LETTER_WORDS as readonly string[]).includes(text)
}

/** ZooKeeper's "Mode:" / zk_server_state value for the peer's role. */
function mode (ctx: FourLetterContext): string {
  const { role } = ctx.status
  if (role === 'leader' && ctx.ensembleSize === 1) return 'standalone'
  return role === 'candidate' ? 'looking' : role
}

const hex = (n: number | bigint): `0x${string}` => `0x${n.toString(16)}`

function connectionLine (c: ConnectionInfo, full: boolean): string {
  const base = `${c.remote}[1](queued=${c.queued},recved=${c.received},sent=${c.sent}`
  if (!full) return ` /${base})`
  const sid = c.sessionId === undefined ? '' : `,sid=${hex(c.sessionId)}`
  return ` /${base}${sid},lop=${c.lastOp},est=${c.establishedMs},to=${c.timeoutMs ?? 0},lcxid=${hex(c.lastCxid)},` +
    `lzxid=${hex(c.lastZxid)},lresp=${c.lastResponseMs},llat=0,minlat=${c.minLatencyMs},avglat=${c.avgLatencyMs.toFixed(4)},maxlat=${c.maxLatencyMs})`
}

/**
 * The text ZooKeeper answers for `word`, or the "not serving" line ZooKeeper prints while it
 * has no quorum (for words that need a running server).
 */
export function answerFourLetterWord (word: FourLetterWord, ctx: FourLetterContext): string {
  const s = ctx.status
  const serving = s.leader !== undefined
  const notServing = 'This ZooKeeper instance is not currently serving requests\n'
  switch (word) {
    case 'ruok':
      return 'imok'
    case 'isro':
      return serving ? 'rw' : 'null'
    case 'srvr':
    case 'stat': {
      if (!serving) return notServing
      const lines = [`Zookeeper version: ${SERVER_VERSION}`]
      if (word === 'stat') {
        lines.push('Clients:')
        for (const c of ctx.connections) lines.push(connectionLine(c, false))
        lines.push('')
      }
      lines.push(
        `Latency min/avg/max: ${ctx.minLatencyMs}/${ctx.avgLatencyMs.toFixed(4)}/${ctx.maxLatencyMs}`,
        `Received: ${ctx.received}`,
        `Sent: ${ctx.sent}`,
        `Connections: ${ctx.connections.length}`,
        'Outstanding: ' + String(s.pendingWrites),
        `Zxid: ${hex(s.zxid)}`,
        `Mode: ${mode(ctx)}`,
        `Node count: ${s.znodes}`,
      )
      return lines.join('\n') + '\n'
    }
    case 'mntr': {
      if (!serving) return notServing
      const rows: Array<[string, string | number]> = [
        ['zk_version', SERVER_VERSION],
        ['zk_server_state', mode(ctx)],
        ['zk_avg_latency', ctx.avgLatencyMs.toFixed(4)],
        ['zk_max_latency', ctx.maxLatencyMs],
        ['zk_min_latency', ctx.minLatencyMs],
        ['zk_packets_received', ctx.received],
        ['zk_packets_sent', ctx.sent],
        ['zk_num_alive_connections', ctx.connections.length],
        ['zk_outstanding_requests', s.pendingWrites],
        ['zk_znode_count', s.znodes],
        ['zk_watch_count', s.watches],
        ['zk_global_sessions', s.sessions],
        ['zk_local_sessions', s.localSessions],
        ['zk_last_proposal_size', -1],
        ['zk_zxid', hex(s.zxid)],
        ['zk_peer_state', `${s.role === 'candidate' ? 'looking' : s.role} - broadcast`],
      ]
      if (s.role === 'leader' && ctx.ensembleSize !== 1) {
        const followers = Object.keys(s.peers).filter((id) => id !== s.id)
        rows.push(['zk_learners', followers.length], ['zk_synced_followers', followers.filter((id) => (s.peers[id]?.lag ?? 1) === 0).length])
        rows.push(['zk_pending_syncs', 0])
      }
      return rows.map(([k, v]) => `${k}\t${v}`).join('\n') + '\n'
    }
    case 'conf':
      return [
        `clientPort=${ctx.clientPort}`,
        `clientPortAddress=${ctx.clientHost}`,
        ...Object.entries(ctx.settings).map(([k, v]) => `${k}=${v}`),
        `serverId=${s.id}`,
        `jute.maxbuffer=${ctx.maxPacketBytes}`,
        `membership: ${ctx.ensembleSize ?? 'unknown'} voting members`,
      ].join('\n') + '\n'
    case 'cons':
      return ctx.connections.map((c) => connectionLine(c, true)).join('\n') + '\n\n'
    case 'wchs': {
      const watching = ctx.connections.filter((c) => c.watchedPaths > 0)
      const paths = watching.reduce((n, c) => n + c.watchedPaths, 0)
      return `${watching.length} connections watching ${paths} paths\nTotal watches:${s.watches}\n`
    }
    case 'envi':
      return [
        'Environment:',
        `zookeeper.version=${SERVER_VERSION}`,
        `host.name=${os.hostname()}`,
        `node.version=${process.version}`,
        `os.name=${os.type()}`,
        `os.arch=${os.arch()}`,
        `os.version=${os.release()}`,
        `user.dir=${process.cwd()}`,
        `os.memory.free=${Math.round(os.freemem() / 1048576)}MB`,
        `os.memory.total=${Math.round(os.totalmem() / 1048576)}MB`,
      ].join('\n') + '\n'
  }
}
