/**
 * Keeps a second process off a storage directory, as LevelDB's LOCK file did: two peers
 * appending to one log would corrupt it.
 *
 * Owns: the file `LOCK` in the directory, holding the owner's process id. Node.js has no
 * `flock`, so liveness is checked instead: a lock whose process is gone (a peer killed with
 * SIGKILL) is taken over. The same process may open the directory again (a test that reopens
 * after a simulated crash); guarding against that is the caller's job. Best effort: two
 * processes taking over the same stale lock at the same instant may both succeed.
 *
 * Must not touch: anything else in the directory.
 */
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const FILE = 'LOCK'

/** Whether process `pid` exists (EPERM: it exists under another user). */
function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Takes the lock on `dir` for this process. Throws an Error naming the holder when another
 * live process holds it. Returns the function that releases it.
 */
export function lockDirectory (dir: string): () => void {
  const file = join(dir, FILE)
  for (;;) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' })
      break
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
    let holder: number
    try {
      holder = Number(readFileSync(file, 'utf8'))
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue // released meanwhile
      throw err
    }
    if (holder === process.pid) break
    if (Number.isInteger(holder) && holder > 0 && alive(holder)) {
      throw new Error(`storage directory ${dir} is in use by process ${holder}`)
    }
    // Left behind by a process that died: take it over (a racing taker makes one of us retry).
    try {
      unlinkSync(file)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    }
  }
  return () => {
    try {
      if (Number(readFileSync(file, 'utf8')) === process.pid) unlinkSync(file)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    }
  }
}
