/**
 * Question: how fast is one in-process peer through the full Session path, and how much memory
 * does a znode cost? getData/s, exists/s, create/s, setData/s with 100-byte values, and resident
 * memory per znode for 100,000 znodes (issue targets: reads >= 1,000,000/s, writes >= 100,000/s,
 * <= 300 bytes per znode beyond its name and data).
 *
 * Run: `node dist/benchmarks/single-peer.js [--znodes N]` (or via `npm run bench`). Memory is
 * measured in a fresh child process (see memoryInFreshProcess).
 */
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { Peer, type Session } from '../lib/index.js'
import { silentLogger } from '../lib/env.js'

/** One measured figure. */
export interface Figure {
  readonly workload: string
  readonly value: number
  readonly unit: string
  readonly detail: string
}

const VALUE = Buffer.alloc(100, 7)

async function rate (label: string, total: number, inFlight: number, op: (i: number) => Promise<unknown>, progress: (s: string) => void): Promise<Figure> {
  const start = performance.now()
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < total) await op(next++)
  }
  await Promise.all(Array.from({ length: inFlight }, worker))
  const seconds = (performance.now() - start) / 1000
  const perSec = Math.round(total / seconds)
  progress(`${label}: ${perSec.toLocaleString('en-US')}/s`)
  return { workload: label, value: perSec, unit: 'ops/s', detail: `${total.toLocaleString('en-US')} ops, ${inFlight} in flight, ${seconds.toFixed(2)} s` }
}

function gc (): void {
  const g = (globalThis as { gc?: () => void }).gc
  if (g !== undefined) { g(); g() }
}

/** Runs the single-peer benchmark and returns its figures. `progress` receives one line per step. */
export async function singlePeerBench (opts: { znodes?: number, ops?: number, progress?: (s: string) => void } = {}): Promise<Figure[]> {
  const znodes = opts.znodes ?? 100_000
  const ops = opts.ops ?? 200_000
  const progress = opts.progress ?? ((s: string) => console.log(s))
  const figures: Figure[] = []
  {
    const peer = await Peer.start({ id: 'bench', log: silentLogger })
    await peer.ready()
    const zk: Session = await peer.connect()
    await zk.create('/b')
    for (let i = 0; i < 1000; i++) await zk.create(`/b/n${i}`, VALUE)
    figures.push(await rate('create', ops, 256, (i) => zk.create(`/b/c${i}`, VALUE), progress))
    figures.push(await rate('setData', ops, 256, (i) => zk.setData(`/b/n${i % 1000}`, VALUE), progress))
    figures.push(await rate('getData', ops * 5, 1, (i) => zk.getData(`/b/n${i % 1000}`), progress))
    figures.push(await rate('exists', ops * 5, 1, (i) => zk.exists(`/b/n${i % 1000}`), progress))
    await peer.stop()
  }
  figures.push(await memoryInFreshProcess(znodes))
  progress(`memory: ${figures[figures.length - 1]!.value} bytes per znode (${figures[figures.length - 1]!.detail})`)
  return figures
}

/**
 * Memory per znode, measured in a fresh process (`--memory-child N`, with --expose-gc) so that
 * nothing from other phases is live at the baseline. Baseline: the started peer with its
 * session and the empty parent, after two full GCs; then N creates of 100-byte znodes, two
 * full GCs, and the growth of heap + array buffers (and of rss) divided by N.
 */
function memoryInFreshProcess (znodes: number): Promise<Figure> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--memory-child', String(znodes)], { maxBuffer: 1 << 20 }, (err, stdout) => {
      if (err !== null) { reject(err); return }
      const line = stdout.trim().split('\n').pop() ?? ''
      resolve(JSON.parse(line) as Figure)
    })
  })
}

async function memoryChild (znodes: number): Promise<Figure> {
  const peer = await Peer.start({ id: 'mem', log: silentLogger })
  await peer.ready()
  const zk = await peer.connect()
  await zk.create('/m')
  await zk.getData('/m')
  gc()
  const base = process.memoryUsage()
  let nameBytes = 0
  for (let from = 0; from < znodes; from += 1000) {
    const pending: Array<Promise<string>> = []
    for (let i = from; i < Math.min(znodes, from + 1000); i++) {
      const path = `/m/node-${i}`
      nameBytes += path.length
      pending.push(zk.create(path, VALUE))
    }
    await Promise.all(pending)
  }
  gc()
  const after = process.memoryUsage()
  const grown = (after.heapUsed + after.arrayBuffers) - (base.heapUsed + base.arrayBuffers)
  const perZnode = Math.round(grown / znodes)
  const beyond = Math.round((grown - nameBytes - znodes * VALUE.length) / znodes)
  const rss = Math.round((after.rss - base.rss) / znodes)
  await peer.stop()
  return {
    workload: 'memory-per-znode',
    value: perZnode,
    unit: 'bytes',
    detail: `${znodes.toLocaleString('en-US')} znodes of 100 bytes in a fresh process; heap + array buffers after full GC grew ${perZnode} B/znode (${beyond} B beyond name and data); rss grew ${rss} B/znode`,
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const m = process.argv.indexOf('--memory-child')
  if (m > 0) {
    process.stdout.write(JSON.stringify(await memoryChild(Number(process.argv[m + 1]))) + '\n')
  } else {
    const i = process.argv.indexOf('--znodes')
    await singlePeerBench({ znodes: i > 0 ? Number(process.argv[i + 1]) : undefined })
  }
}
