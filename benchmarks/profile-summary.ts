/**
 * Summarizes a V8 .cpuprofile (from `node --cpu-prof` or the suite's `--profile`): the
 * functions with the most self time, as a share of all samples, with their file and line.
 *
 * Run: `node dist/benchmarks/profile-summary.js FILE.cpuprofile [TOP]`.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

interface ProfileNode { id: number, callFrame: { functionName: string, url: string, lineNumber: number }, hitCount?: number }

/** The top `top` functions by self samples, one per line: share, samples, function, file:line. */
export function summarizeProfile (file: string, top = 15): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[], samples?: number[] }
  const hits = new Map<number, number>()
  if (profile.samples !== undefined) for (const s of profile.samples) hits.set(s, (hits.get(s) ?? 0) + 1)
  const byFn = new Map<string, number>()
  let total = 0
  for (const n of profile.nodes) {
    const h = hits.get(n.id) ?? n.hitCount ?? 0
    if (h === 0) continue
    total += h
    const url = n.callFrame.url.replace(/^file:\/\/.*?\/(dist|node_modules)\//, '$1/')
    const k = `${n.callFrame.functionName || '(anonymous)'} ${url === '' ? '' : `${url}:${n.callFrame.lineNumber + 1}`}`
    byFn.set(k, (byFn.get(k) ?? 0) + h)
  }
  return [...byFn].sort((a, b) => b[1] - a[1]).slice(0, top)
    .map(([k, h]) => `${(100 * h / total).toFixed(1).padStart(5)}%  ${String(h).padStart(6)}  ${k}`).join('\n') + `\n(${total} samples)`
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [file, top] = process.argv.slice(2)
  if (file === undefined) { console.error('usage: profile-summary FILE.cpuprofile [TOP]'); process.exit(2) }
  console.log(summarizeProfile(file, top === undefined ? 15 : Number(top)))
}
