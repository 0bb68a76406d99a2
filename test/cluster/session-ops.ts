/**
 * The load generator's view of a zkpeer Session: the public API only, as an embedding app
 * uses it. Shared by the cluster's peer child and the in-process read-path benchmark, so both
 * time exactly the same calls.
 */
import { CreateMode, Op, type Session } from '../../lib/index.js'
import type { ClientOps } from './loadgen.js'

/** Adapts `zk` to {@link ClientOps}. */
export function sessionClientOps (zk: Session): ClientOps {
  return {
    setData: (path, data) => zk.setData(path, data),
    create: (path, data, sequential) => zk.create(path, data, { mode: sequential ? CreateMode.PERSISTENT_SEQUENTIAL : CreateMode.PERSISTENT }),
    getData: (path) => zk.getData(path),
    getDataWatch: (path, listener) => zk.getData(path, { watch: () => listener() }),
    exists: async (path) => await zk.exists(path) !== null,
    sync: (path) => zk.sync(path),
    multiCreate: (paths, data) => zk.multi(paths.map((p) => Op.create(p, data))),
  }
}
