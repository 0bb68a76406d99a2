/**
 * Goal: validatePath accepts and refuses exactly what ZooKeeper's PathUtils does (ZK-SEMANTICS
 * §4), with BADARGUMENTS and a clear message; parentOf/basename split paths.
 * Method: a table of inputs.
 */

import t from 'tap'
import { ZkError } from '../../lib/errors.js'
import { basename, parentOf, validatePath } from '../../lib/tree/path.js'

const accepted = ['/', '/a', '/a/b', '/...', '/.a', '/a.', '/a/..b', '/a b', '/a:b\\c', '/ü', '/\u00a0', '/\uf900', '/\uffef']
const rejected: Array<[unknown, RegExp]> = [
  [null, /must be a string/],
  [undefined, /must be a string/],
  [42, /must be a string/],
  ['', /must not be empty/],
  ['a', /must start with \//],
  ['/a/', /must not end with \//],
  ['/a//b', /empty segment/],
  ['//', /must not end/],
  ['/./x', /relative segment '\.'/],
  ['/x/..', /relative segment '\.\.'/],
  ['/a/./b', /relative/],
  ['/.', /relative/],
  ['/a\u0000b', /NUL/],
  ['/\u0001', /invalid character U\+0001/],
  ['/\u001f', /invalid character/],
  ['/\u007f', /invalid character U\+007F/],
  ['/\u009f', /invalid character/],
  ['/😀', /outside the BMP/],
  ['/\ud800', /invalid character/],
  ['/\ue000', /invalid character U\+E000/],
  ['/\uf8ff', /invalid character/],
  ['/\ufff0', /invalid character/],
  ['/\uffff', /invalid character/],
]

t.test('accepted paths', async (t) => {
  for (const p of accepted) t.equal(validatePath(p), p, JSON.stringify(p))
})

t.test('rejected paths throw BADARGUMENTS with a reason', async (t) => {
  for (const [p, why] of rejected) {
    let err: unknown
    try { validatePath(p) } catch (e) { err = e }
    t.ok(err instanceof ZkError && err.code === 'BADARGUMENTS' && err.rc === -8 && why.test(err.message), `${JSON.stringify(p)}: ${String(err)}`)
  }
})

t.test('sequential validates path + "1"', async (t) => {
  t.equal(validatePath('/parent/', { sequential: true }), '/parent/')
  t.equal(validatePath('/', { sequential: true }), '/')
  t.equal(validatePath('/a/.', { sequential: true }), '/a/.')
  t.throws(() => validatePath('/parent//', { sequential: true }), { code: 'BADARGUMENTS' })
  t.throws(() => validatePath('/parent/', { sequential: false }), { code: 'BADARGUMENTS' })
})

t.test('parentOf and basename', async (t) => {
  t.equal(parentOf('/a'), '/')
  t.equal(parentOf('/a/b/c'), '/a/b')
  t.equal(parentOf('/p/'), '/p')
  t.throws(() => parentOf('/'), { code: 'BADARGUMENTS' })
  t.equal(basename('/a/b'), 'b')
  t.equal(basename('/a'), 'a')
  t.equal(basename('/'), '')
})
