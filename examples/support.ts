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

/** A free TCP port on loopback (listen on port 0, note the port, close). */
export async function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port')))
    })
  })
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
