/** Minimal typings for the parts of node-zookeeper-client (CommonJS, untyped) the benchmarks use. */
declare module 'node-zookeeper-client' {
  const zookeeper: any // eslint-disable-line @typescript-eslint/no-explicit-any
  export default zookeeper
}
declare module 'node-zookeeper-client/lib/jute/index.js' {
  const jute: any // eslint-disable-line @typescript-eslint/no-explicit-any
  export default jute
}
