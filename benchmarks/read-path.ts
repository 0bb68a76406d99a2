/**
 * Question: what does one local read cost through the public Session, issued exactly as the
 * suite's read-local workload issues it (the same load generator, 64 workers each awaiting
 * `getData` of one of 1024 keys of 100 B), but in one process with no ensemble around it? It
 * isolates the read path from the peers' traffic and the machine's other load.
 *
 * Run: `node --expose-gc dist/benchmarks/read-path.js [--ops N] [--warmup N] [--repeats N]`.
 * Prints reads/s per repeat. For instructions per read, run it under
 * `valgrind --tool=callgrind` with two values of --ops and the same --warmup and divide the
 * difference in instructions by the difference in reads (the startup cancels out).
 */
import { fileURLToPath } from 'node:url'
import { Peer } from '../lib/index.js'
import { silentLogger } from '../lib/env.js'
import { LoadGenerator, type GenBenchReport } from '../test/cluster/loadgen.js'
import { sessionClientOps } from '../test/cluster/session-ops.js'

const KEYS = 1024
const VALUE_BYTES = 100
const PATH = '/bench-w'

/** Runs `warmup` reads, then `repeats` × `ops` reads; resolves with reads/s of each repeat. */
export async function readPathBench (opts: { ops: number, warmup: number, repeats: number }): Promise<number[]> {
  const peer = await Peer.start({ id: 'reads', log: silentLogger })
  await peer.ready()
  const zk = await peer.connect()
  const ops = sessionClientOps(zk)
  const gen = new LoadGenerator(() => ops, async () => ops)
  await gen.handle({ kind: 'prepare', path: PATH, keys: KEYS, bytes: VALUE_BYTES })
  const bench = (n: number): Promise<GenBenchReport> => gen.handle({ kind: 'bench', workload: 'read', path: PATH, ops: n, inFlight: 64, bytes: VALUE_BYTES, keys: KEYS, sampleEvery: 16 }) as Promise<GenBenchReport>
  if (opts.warmup > 0) await bench(opts.warmup)
  const rates: number[] = []
  for (let r = 0; r < opts.repeats; r++) {
    const report = await bench(opts.ops)
    if (report.errors > 0) throw new Error(`${report.errors} reads failed: ${report.firstError ?? ''}`)
    rates.push(Math.round(report.ops / report.seconds))
  }
  await peer.stop()
  return rates
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (name: string, fallback: number): number => {
    const i = process.argv.indexOf(name)
    return i > 0 ? Number(process.argv[i + 1]) : fallback
  }
  const rates = await readPathBench({ ops: arg('--ops', 2_000_000), warmup: arg('--warmup', 200_000), repeats: arg('--repeats', 3) })
  console.log(`read-path: ${rates.map((r) => r.toLocaleString('en-US')).join(' ')} reads/s`)
}
