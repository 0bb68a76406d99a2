/**
 * Command line of the consensus simulator.
 *
 *   node dist/test/sim/cli.js --seeds N [--seed-start S] [--peers 3|5]   many seeds, with progress
 *   node dist/test/sim/cli.js --seed N [--peers 3|5] [--trace]           replay one seed exactly
 *
 * Without --peers, odd seeds run 5 peers and even seeds 3. Ends with one summary line and exit
 * code 1 if any seed broke an invariant; each failing seed is printed with its replay command.
 */
import { peersForSeed } from './peers.js'
import { runSim, type SimResult } from './run.js'

interface Args { seeds: number, seedStart: number, peers: 3 | 5 | undefined, trace: boolean }

function parseArgs (argv: readonly string[]): Args {
  const args: Args = { seeds: 100, seedStart: 1, peers: undefined, trace: false }
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
      default: throw new TypeError(`unknown argument ${a}`)
    }
  }
  return args
}


function main (): void {
  const args = parseArgs(process.argv.slice(2))
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
