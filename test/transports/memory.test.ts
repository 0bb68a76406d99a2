/**
 * Goal: the memory transport passes the transport conformance suite.
 * Method: each group gets its own MemoryNetwork hub and fresh memory:// names.
 */
import { MemoryNetwork } from '../../transports/memory.js'
import { startGroup, transportSuite } from '../conformance/transport-suite.js'

let groups = 0
transportSuite({
  name: 'memory',
  createGroup: (size, opts) => {
    const g = groups++
    return startGroup(new MemoryNetwork().transport, Array.from({ length: size }, (_x, i) => `memory://g${g}-p${i}`), opts)
  },
})
