/**
 * Goal: ZooKeeper's own command-line client works against an embedded peer: create, get, set,
 * ls, stat, delete and a watch.
 * Method: start a one-member peer with `zkListen` on a free loopback port and run `zkCli.sh`
 * (Debian package `zookeeper`) against it — one process per command, and one interactive
 * session fed through stdin for the watch. Skipped, with the reason printed, when zkCli.sh is
 * not installed.
 */
import { execFile, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import t from 'tap'
import { Peer } from '../../lib/index.js'

const candidates = ['/usr/share/zookeeper/bin/zkCli.sh', '/usr/bin/zkCli.sh', '/opt/zookeeper/bin/zkCli.sh']
const zkCli = candidates.find((p) => existsSync(p))

function run (server: string, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(zkCli!, ['-server', server, ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`zkCli.sh ${args.join(' ')} failed: ${err.message}\n${stdout}${stderr}`))
      else resolve(stdout + stderr)
    })
  })
}

if (zkCli === undefined) {
  t.comment(`skipped: ZooKeeper's zkCli.sh is not installed (looked in ${candidates.join(', ')}); apt-get install zookeeper to run this test`)
  t.pass('nothing to test without zkCli.sh')
} else {
  t.test('zkCli.sh creates, reads, updates, lists, stats, deletes and watches on a peer', async (t) => {
    const peer = await Peer.start({ id: 'cli', zkListen: 'tcp://127.0.0.1:0', tickMs: 10 })
    t.teardown(() => peer.stop())
    await peer.ready()
    const server = peer.zkUrl!.slice('tcp://'.length)
    const zk = await peer.connect()

    t.match(await run(server, 'create', '/cli', 'hello'), /Created \/cli/)
    t.equal((await zk.getData('/cli')).data.toString(), 'hello', 'the in-process API sees what zkCli created')
    t.match(await run(server, 'get', '/cli'), /^hello$/m)
    await run(server, 'set', '/cli', 'world')
    t.equal((await zk.getData('/cli')).data.toString(), 'world')
    await zk.create('/cli/child')
    t.match(await run(server, 'ls', '/cli'), /\[child\]/)
    const stat = await run(server, 'stat', '/cli')
    t.match(stat, /dataVersion = 1/)
    t.match(stat, /numChildren = 1/)
    await run(server, 'delete', '/cli/child')
    t.equal(await zk.exists('/cli/child'), null, 'zkCli deleted it')

    const cli = spawn(zkCli, ['-server', server], { stdio: ['pipe', 'pipe', 'pipe'] })
    t.teardown(() => { if (cli.exitCode === null) cli.kill('SIGKILL') })
    let out = ''
    cli.stdout.on('data', (d: Buffer) => { out += d.toString() })
    const waitFor = async (re: RegExp): Promise<boolean> => {
      for (let i = 0; i < 400 && !re.test(out); i++) await new Promise((resolve) => setTimeout(resolve, 50))
      return re.test(out)
    }
    t.ok(await waitFor(/SyncConnected type:None/), 'an interactive zkCli connects')
    cli.stdin.write('get -w /cli\n')
    t.ok(await waitFor(/^world$/m), 'and reads with a watch')
    await zk.setData('/cli', 'again')
    t.ok(await waitFor(/type:NodeDataChanged path:\/cli/), 'the watch fires in zkCli when the in-process API writes')
    cli.stdin.write('quit\n')
    await new Promise((resolve) => cli.once('exit', resolve))
  })
}
