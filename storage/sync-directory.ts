/**
 * Makes a directory's entries durable: after creating, renaming or deleting a file, its name
 * is only on disk once the directory itself is fsynced (POSIX leaves it to the directory).
 */
import { closeSync, fsyncSync, openSync } from 'node:fs'
import { open } from 'node:fs/promises'

/** Fsyncs directory `dir` on the thread pool. */
export async function syncDirectory (dir: string): Promise<void> {
  const handle = await open(dir, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

/** Fsyncs directory `dir`, blocking; for the rare segment roll inside a synchronous commit. */
export function syncDirectorySync (dir: string): void {
  const fd = openSync(dir, 'r')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}
