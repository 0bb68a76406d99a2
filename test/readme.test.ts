/**
 * Goal: every README example that is a whole program runs as written, so a new user can copy
 * it. Method: take each ```ts block that starts with an import from 'zkpeer', point the import
 * at this checkout's build, run it as an ES module in a child process, and require exit 0.
 * (Blocks that are fragments, like the multi-machine configuration, do not start with an import.)
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import t from 'tap'

const root = fileURLToPath(new URL('../../', import.meta.url))
const entry = pathToFileURL(join(root, 'dist/lib/index.js')).href
const blocks = [...readFileSync(join(root, 'README.md'), 'utf8').matchAll(/```ts\n(import [^\n]* from 'zkpeer'\n[\s\S]*?)```/g)].map((m) => m[1]!)

t.ok(blocks.length >= 2, `found ${blocks.length} runnable README examples`)
const dir = mkdtempSync(join(tmpdir(), 'zkpeer-readme-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))

for (const [i, block] of blocks.entries()) {
  t.test(`README example ${i + 1} runs`, async (t) => {
    const file = join(dir, `example-${i + 1}.mjs`)
    writeFileSync(file, block.replaceAll("from 'zkpeer'", `from '${entry}'`))
    const result = await new Promise<{ code: number | null, out: string }>((resolve) => {
      execFile(process.execPath, [file], { timeout: 60_000 }, (err, stdout, stderr) => {
        resolve({ code: err === null ? 0 : (typeof err.code === 'number' ? err.code : 1), out: stdout + stderr })
      })
    })
    t.equal(result.code, 0, result.code === 0 ? 'exit 0' : result.out)
  })
}
