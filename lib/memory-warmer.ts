/**
 * Warms up fresh memory on another thread. The first write to each page of a new buffer costs
 * a page fault, and on some machines (virtual machines especially) that costs some 4 ms per
 * MB — more than the work that fills it. A restarted peer decoding a snapshot of a million
 * znodes fills about 200 MB of fresh buffers (data block, columns, path index) in one go;
 * handing them out as SharedArrayBuffers that a worker touches ahead of the decoder moves much
 * of that cost to another core. The worker starts at a buffer's end and the decoder at its
 * start, so they share the faults of a buffer filled at once and the worker runs ahead of one
 * filled slowly.
 */
import { Worker } from 'node:worker_threads'
import type { Logger } from './env.js'
import type { WarmRequest } from './memory-warmer-worker.js'
import type { Allocate } from './tree/allocate.js'

/** Regions smaller than this are not worth a message. */
const MIN_WARM_BYTES = 1 << 20

/** A worker that warms the memory it hands out. See the module comment. */
export class MemoryWarmer {
  readonly #worker: Worker

  private constructor (worker: Worker) {
    this.#worker = worker
  }

  /**
   * Starts a warmer, or returns undefined (logged at debug level) where no worker thread can
   * be started: memory is then simply allocated cold.
   */
  static start (log: Logger): MemoryWarmer | undefined {
    try {
      const worker = new Worker(new URL('./memory-warmer-worker.js', import.meta.url))
      worker.unref()
      worker.on('error', (err) => { log.debug('memory warmer failed; memory stays cold', { err: String(err) }) })
      return new MemoryWarmer(worker)
    } catch (err) {
      log.debug('no memory warmer: could not start a worker thread', { err: String(err) })
      return undefined
    }
  }

  /** An {@link Allocate}: a zero-filled SharedArrayBuffer whose first `willFill` bytes the worker warms. */
  readonly allocate: Allocate = (bytes, willFill) => {
    const buffer = new SharedArrayBuffer(bytes)
    if (willFill >= MIN_WARM_BYTES) this.#worker.postMessage({ buffer, bytes: willFill } satisfies WarmRequest)
    return buffer
  }

  /** Stops the worker; what it has not warmed yet stays cold. */
  async stop (): Promise<void> {
    await this.#worker.terminate()
  }
}
