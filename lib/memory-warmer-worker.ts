/**
 * The thread of {@link MemoryWarmer} (`memory-warmer.ts`): touches each page of the buffers it
 * is sent, from their end backwards, with a compare-exchange of 0 for 0 — a write access that
 * never changes a value, so the thread that fills the buffer needs no coordination with it.
 */
import { parentPort } from 'node:worker_threads'

/** What the warmer sends: a buffer and how many bytes from its start to warm. */
export interface WarmRequest {
  readonly buffer: SharedArrayBuffer
  readonly bytes: number
}

/** Int32 slots per 4 KiB page, the smallest page size the warmer assumes. */
const SLOTS_PER_PAGE = 1024

parentPort?.on('message', ({ buffer, bytes }: WarmRequest) => {
  const words = new Int32Array(buffer, 0, Math.floor(bytes / 4))
  const last = words.length - 1 - ((words.length - 1) % SLOTS_PER_PAGE)
  for (let i = last; i >= 0; i -= SLOTS_PER_PAGE) Atomics.compareExchange(words, i, 0, 0)
})
