/**
 * Question: how fast is one in-process peer through the full Session path, and how much memory
 * does a znode cost? getData/s, exists/s, create/s, setData/s with 100-byte values, and resident
 * memory per znode for 100,000 znodes (issue targets: reads >= 1,000,000/s, writes >= 100,000/s,
 * <= 300 bytes per znode beyond its name and data).
 *
 * Run: `node --expose-gc dist/benchmarks/single-peer.js [--znodes N]` (or via `npm run bench`).
 */
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
  {
    gc()
    const base = process.memoryUsage()
    const peer = await Peer.start({ id: 'mem', log: silentLogger })
    await peer.ready()
    const zk = await peer.connect()
    await zk.create('/m')
    const pending: Array<Promise<string>> = []
    let nameBytes = 0
    for (let i = 0; i < znodes; i++) {
      const path = `/m/node-${i}`
      nameBytes += path.length
      pending.push(zk.create(path, VALUE))
      if (pending.length === 1000) await Promise.all(pending.splice(0))
    }
    await Promise.all(pending)
    gc()
    const after = process.memoryUsage()
    const grown = (after.heapUsed + after.arrayBuffers) - (base.heapUsed + base.arrayBuffers)
    const rssGrown = after.rss - base.rss
    const perZnode = Math.round((grown - nameBytes - znodes * VALUE.length) / znodes)
    progress(`memory: ${perZnode} bytes per znode beyond name and data (heap+buffers), rss grew ${Math.round(rssGrown / znodes)} bytes per znode`)
    figures.push({ workload: 'memory-per-znode', value: perZnode, unit: 'bytes', detail: `${znodes.toLocaleString('en-US')} znodes of 100 bytes, heap + array buffers after GC, beyond name and data; rss grew ${Math.round(rssGrown / znodes)} B/znode in all` })
    await peer.stop()
  }
  return figures
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const i = process.argv.indexOf('--znodes')
  await singlePeerBench({ znodes: i > 0 ? Number(process.argv[i + 1]) : undefined })
}
