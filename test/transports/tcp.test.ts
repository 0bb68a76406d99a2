/**
 * Goal: the plain TCP transport passes the transport conformance suite, including raw
 * connections that send garbage.
 * Method: fresh loopback ports per group (freePorts); raw sockets from node:net.
 */
import { tcpTransport } from '../../transports/tcp.js'
import { startGroup, transportSuite } from '../conformance/transport-suite.js'
import { freePorts } from '../helpers/ports.js'
import { rawTcp } from './raw.js'

transportSuite({
  name: 'tcp',
  createGroup: async (size, opts) => startGroup(tcpTransport, (await freePorts(size)).map((p) => `tcp://127.0.0.1:${p}`), opts),
  sendRaw: rawTcp,
})
