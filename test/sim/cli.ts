/**
 * Command line of the simulators: the consensus core alone (default), or whole peers with
 * clients and a history check (`--mode peer`).
 *
 *   node dist/test/sim/cli.js --seeds N [--seed-start S] [--peers 3|5]   many seeds, with progress
 *   node dist/test/sim/cli.js --seed N [--peers 3|5] [--trace]           replay one seed exactly
 *   node dist/test/sim/cli.js --mode peer --seeds N | --seed N [--trace]  the same, whole peers
 *
 * Without --peers, odd seeds run 5 peers and even seeds 3. Ends with one summary line and exit
 * code 1 if any seed broke an invariant; each failing seed is printed with its replay command.
 */
import { peersForSeed } from './peers.js'
import { runPeerSim, type PeerSimResult } from './peer-run.js'
import { runSim, type SimResult } from './run.js'

interface Args { seeds: number, seedStart: number, peers: 3 | 5 | undefined, trace: boolean, mode: 'core' | 'peer' }

function parseArgs (argv: readonly string[]): Args {
  const args: Args = { seeds: 100, seedStart: 1, peers: undefined, trace: false, mode: 'core' }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const num = (): number => {
      const v = Number(argv[++i])
      if (!Number.isInteger(v) || v < 0) throw new TypeError(`${a} needs a non-negative integer`)
      return v
    }
    switch (a) {
      case '--seeds': args.seeds = num(); break
      case '--seed-start': args.seedStart = num(); break
      case '--seed': args.seedStart = num(); args.seeds = 1; break
      case '--peers': {
        const p = num()
        if (p !== 3 && p !== 5) throw new TypeError('--peers is 3 or 5')
        args.peers = p
        break
      }
      case '--trace': args.trace = true; break
      case '--mode': {
        const m = argv[++i]
        if (m !== 'core' && m !== 'peer') throw new TypeError('--mode is core or peer')
        args.mode = m
        break
      }
      default: throw new TypeError(`unknown argument ${a}`)
    }
  }
  return args
}


/** Whole-peer seeds: one line per violation with its replay command, then a summary. */
async function mainPeer (args: Args): Promise<void> {
  const started = Date.now()
  const failures: PeerSimResult[] = []
  let ops = 0
  let acked = 0
  let unknown = 0
  let crashes = 0
  let moved = 0
  let inconclusive = 0
  const recoveries: number[] = []
  const peersArg = args.peers === undefined ? '' : ` --peers ${args.peers}`
  for (let k = 0; k < args.seeds; k++) {
    const seed = args.seedStart + k
    const r = await runPeerSim({
      seed,
      peers: peersForSeed(seed, args.peers),
      trace: args.trace ? (line) => process.stdout.write(line + '\n') : undefined,
    })
    ops += r.ops
    acked += r.ackedWrites
    unknown += r.unknownOps
    crashes += r.crashes
    moved += r.sessionsMoved
    inconclusive += r.inconclusiveKeys
    if (r.recoveryMs !== undefined) recoveries.push(r.recoveryMs)
    if (r.violation !== undefined) {
      failures.push(r)
      process.stdout.write(`\nsim peer: seed ${seed} (${r.peers} peers) VIOLATION: ${r.violation}\n  replay: npm run sim -- --mode peer --seed ${seed}${peersArg} --trace\n`)
    }
    if (!args.trace && ((k + 1) % 25 === 0 || k + 1 === args.seeds)) {
      process.stdout.write(`sim peer: ${k + 1}/${args.seeds} seeds, ${failures.length} violations, ${((Date.now() - started) / 1000).toFixed(1)}s\n`)
    }
  }
  recoveries.sort((a, b) => a - b)
  const median = recoveries.length > 0 ? recoveries[recoveries.length >> 1] : 0
  const max = recoveries.length > 0 ? recoveries[recoveries.length - 1] : 0
  process.stdout.write(`sim peer: ${args.seeds} seeds, ${failures.length} violations, ${ops} client ops (${acked} acknowledged writes, ` +
    `${unknown} unknown outcomes), ${crashes} crashes, ${moved} sessions moved, ${inconclusive} keys inconclusive, recovery after heal median ${median}ms max ${max}ms, ` +
    `${((Date.now() - started) / 1000).toFixed(1)}s\n`)
  if (failures.length > 0) process.exitCode = 1
}

function main (): void {
  const args = parseArgs(process.argv.slice(2))
  if (args.mode === 'peer') {
    void mainPeer(args)
    return
  }
  const started = Date.now()
  const failures: SimResult[] = []
  let committed = 0
  let snapshots = 0
  let crashes = 0
  const recoveries: number[] = []
  const peersArg = args.peers === undefined ? '' : ` --peers ${args.peers}`
  for (let k = 0; k < args.seeds; k++) {
    const seed = args.seedStart + k
    const r = runSim({
      seed,
      peers: peersForSeed(seed, args.peers),
      trace: args.trace ? (line) => process.stdout.write(line + '\n') : undefined,
    })
    committed += r.committed
    snapshots += r.snapshotsInstalled
    crashes += r.crashes
    if (r.recoveryMs !== undefined) recoveries.push(r.recoveryMs)
    if (r.violation !== undefined) {
      failures.push(r)
      process.stdout.write(`\nsim: seed ${seed} (${r.peers} peers) VIOLATION: ${r.violation}\n  replay: npm run sim -- --seed ${seed}${peersArg} --trace\n`)
    }
    if (!args.trace && ((k + 1) % 50 === 0 || k + 1 === args.seeds)) {
      process.stdout.write(`sim: ${k + 1}/${args.seeds} seeds, ${failures.length} violations, ${((Date.now() - started) / 1000).toFixed(1)}s\n`)
    }
  }
  recoveries.sort((a, b) => a - b)
  const median = recoveries.length > 0 ? recoveries[recoveries.length >> 1] : 0
  const max = recoveries.length > 0 ? recoveries[recoveries.length - 1] : 0
  process.stdout.write(`sim: ${args.seeds} seeds, ${failures.length} violations, ${committed} entries committed, ` +
    `${crashes} crashes, ${snapshots} snapshots installed, recovery after heal median ${median}ms max ${max}ms, ` +
    `${((Date.now() - started) / 1000).toFixed(1)}s\n`)
  if (failures.length > 0) process.exitCode = 1
}

main()
