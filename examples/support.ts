/**
 * Plumbing the examples share so each file shows only its use of zkpeer: timestamped output,
 * a quiet logger for the peers, free loopback ports, polling, and a runner that bounds an
 * example's time and turns its outcome into an exit code.
 */
import { createServer } from 'node:net'
import type { Logger } from '../lib/index.js'

const started = performance.now()

/** Prints `text` with the seconds since the example started. */
export function say (text: string): void {
  console.log(`[${((performance.now() - started) / 1000).toFixed(1).padStart(4)}s] ${text}`)
}

/** The peers' own log: only errors, so an example's output stays readable. */
export const quiet: Logger = { debug () {}, info () {}, warn () {}, error: (msg) => console.error(msg) }

/** Resolves after `ms`. */
export const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

/** Ports {@link freePort} handed out in this process, so it never hands one out twice. */
const handedOut = new Set<number>()

/**
 * A free TCP port on loopback for a peer to listen on. Drawn at random below the OS's ephemeral
 * range (from 32768 on Linux, 49152 elsewhere), where no outgoing connection can take it before
 * the peer listens, and checked free by listening on it.
 */
export async function freePort (): Promise<number> {
  for (let draw = 0; draw < 100; draw++) {
    const port = 20_000 + Math.floor(Math.random() * 12_768)
    if (handedOut.has(port)) continue
    const free = await new Promise<boolean>((resolve, reject) => {
      const server = createServer().once('error', (err: NodeJS.ErrnoException) => { err.code === 'EADDRINUSE' ? resolve(false) : reject(err) })
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
    })
    if (free) {
      handedOut.add(port)
      return port
    }
  }
  throw new Error('no free port found on 127.0.0.1 between 20000 and 32767')
}

/** Polls `done` until it holds; fails after `timeoutMs` saying what it waited for. */
export async function until (what: string, done: () => boolean, timeoutMs = 10_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !done();) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(50)
  }
}

/** Runs an example's `main`: exit 0 with "done" when it succeeds, 1 on failure or after 30 s. */
export function runExample (main: () => Promise<void>): void {
  const watchdog = setTimeout(() => { console.error('example took too long'); process.exit(1) }, 30_000)
  main().then(
    () => { clearTimeout(watchdog); say('done'); process.exit(0) },
    (err: unknown) => { console.error(`failed: ${err instanceof Error ? err.message : String(err)}`); process.exit(1) },
  )
}
