/**
 * Goal: `LevelStorage` over memory-level meets the storage contract.
 * Method: the shared conformance suite. memory-level keeps its data only inside one instance,
 * so "reopen" closes and reopens that same instance.
 */
import { MemoryLevel } from 'memory-level'
import { storageSuite } from '../conformance/storage-suite.js'

storageSuite({
  name: 'memory-level',
  sync: false,
  async create () {
    const db = new MemoryLevel()
    return { db: () => db, cleanup: async () => {} }
  },
})
