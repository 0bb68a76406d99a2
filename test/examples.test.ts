/**
 * Runs each compiled example (dist/examples/<name>.js) as its own process, as a user would, and
 * checks that it exits 0 and prints its closing line, so the examples never rot. The examples
 * run concurrently (each uses its own free ports) to keep the whole file well under a minute.
 */
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import t from 'tap'

const examples: ReadonlyArray<{ readonly name: string, readonly expect: RegExp }> = [
  { name: 'leader-election', expect: /leadership passed \S+ -> \S+ -> \S+; the job never ran on two instances at once/ },
  { name: 'feature-flags', expect: /all 3 instances saw the same 5 changes in the same order/ },
  { name: 'job-queue', expect: /all 12 jobs done exactly once .*; no job lost/ },
  { name: 'kafka-controller', expect: /every partition is led by a live broker \(.+\) under controller \d+/ },
]

/** Runs an example to its end; resolves with its exit code (or signal) and output. */
async function run (name: string): Promise<{ code: number | null, signal: string | null, stdout: string, stderr: string }> {
  const script = fileURLToPath(new URL(`../examples/${name}.js`, import.meta.url))
  return await new Promise((resolve) => {
    const child = execFile(process.execPath, [script], { timeout: 45_000, killSignal: 'SIGKILL' }, (_err, stdout, stderr) => {
      resolve({ code: child.exitCode, signal: child.signalCode, stdout, stderr })
    })
  })
}

for (const { name, expect } of examples) {
  const result = run(name) // started now, so all examples run at once
  t.test(`examples/${name}`, { timeout: 50_000 }, async (t) => {
    const { code, signal, stdout, stderr } = await result
    t.equal(signal, null, `${name} was not killed (by the timeout)`)
    t.equal(code, 0, `${name} exits 0`, { stdout, stderr }) // the output is shown only on failure
    t.match(stdout, expect, `${name} prints its closing line`)
    t.match(stdout, /done\s*$/, `${name} finishes cleanly`)
  })
}
