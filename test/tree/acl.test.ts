/**
 * Goal: ACL fixup (INVALIDACL cases, auth expansion, dedupe), checkAcl (world, digest, ip,
 * super, empty ACL, any-of-bits), the digest id, ip parsing/matching and getACL masking behave
 * as ZK-SEMANTICS §5 describes. Method: direct calls to the pure functions.
 */

import t from 'tap'
import { ZkError } from '../../lib/errors.js'
import { aclForReader, checkAcl, digestId, fixupAcl } from '../../lib/tree/acl.js'
import { ipMatches, parseIp, parseIpRange } from '../../lib/tree/ip.js'
import { Ids, Perms, type ACL, type Id } from '../../lib/tree/types.js'

const bob: Id = { scheme: 'digest', id: digestId('bob:secret') }
const alice: Id = { scheme: 'digest', id: digestId('alice:pw') }
const acl = (perms: number, scheme: string, id: string): ACL => ({ perms, id: { scheme, id } })

t.test('digestId matches ZooKeeper\'s test vector', async (t) => {
  t.equal(digestId('bob:secret'), 'bob:fyVmFCwVbTJYrznoSu1koqYEYF0=')
  t.match(digestId('a:b:c'), /^a:/, 'user is the text before the first colon; the whole text is hashed')
  t.not(digestId('a:b:c'), digestId('a:b'))
})

t.test('fixupAcl refuses with INVALIDACL', async (t) => {
  const bad: unknown[] = [
    [], null, 'x', [null], [{ perms: 31 }], [{ perms: 'x', id: { scheme: 'world', id: 'anyone' } }],
    [acl(31, 'world', 'someone')], [acl(31, 'nosuch', 'x')], [acl(31, 'super', 'x')],
    [acl(31, 'digest', 'a:b:c')], [acl(31, 'digest', 'u:')], [acl(31, 'digest', 'u')], [acl(31, 'digest', '')], [acl(31, 'digest', '::')],
    [acl(31, 'ip', '1.2.3')], [acl(31, 'ip', '1.2.3.4/33')], [acl(31, 'ip', '1.2.3.256')], [acl(31, 'ip', '::1/129')], [acl(31, 'ip', 'host')],
    [acl(31, 'ip', '1.2.3.4/')], Ids.CREATOR_ALL_ACL,
  ]
  for (const b of bad) {
    const r = fixupAcl(b, [])
    t.ok(r instanceof ZkError && r.code === 'INVALIDACL' && r.rc === -114, JSON.stringify(b))
  }
  t.ok(fixupAcl(Ids.CREATOR_ALL_ACL, [{ scheme: 'ip', id: '127.0.0.1' }, { scheme: 'super', id: '' }]) instanceof ZkError, 'ip and super ids are not authenticated')
})

t.test('fixupAcl accepts, expands auth and dedupes', async (t) => {
  t.same(fixupAcl([acl(0, 'world', 'anyone')], []), [acl(0, 'world', 'anyone')], 'perms are not checked')
  t.same(fixupAcl([acl(31, 'digest', ':p')], []), [acl(31, 'digest', ':p')], 'Java split keeps a leading empty part')
  t.equal((fixupAcl([acl(1, 'ip', '10.0.0.0/8'), acl(1, 'ip', '::1'), acl(1, 'ip', 'fe80::/10')], []) as ACL[]).length, 3)
  t.same(fixupAcl([acl(31, 'auth', 'ignored'), acl(1, 'world', 'anyone')], [bob, alice, { scheme: 'ip', id: '1.2.3.4' }]),
    [acl(31, 'digest', bob.id), acl(31, 'digest', alice.id), acl(1, 'world', 'anyone')])
  t.same(fixupAcl([acl(31, 'world', 'anyone'), acl(31, 'world', 'anyone'), acl(1, 'world', 'anyone')], []),
    [acl(31, 'world', 'anyone'), acl(1, 'world', 'anyone')])
  t.same(fixupAcl([acl(31, 'auth', ''), acl(31, 'digest', bob.id)], [bob]), [acl(31, 'digest', bob.id)], 'expanded duplicates dropped')
})

t.test('checkAcl', async (t) => {
  const digestRead = [acl(Perms.READ, 'digest', bob.id)]
  t.ok(checkAcl([], Perms.ALL, []), 'empty ACL allows all')
  t.ok(checkAcl(Ids.OPEN_ACL_UNSAFE, Perms.ADMIN, []), 'world:anyone matches an unauthenticated session')
  t.notOk(checkAcl(Ids.READ_ACL_UNSAFE, Perms.WRITE, []))
  t.ok(checkAcl(digestRead, Perms.READ, [bob]))
  t.notOk(checkAcl(digestRead, Perms.READ, [alice]))
  t.notOk(checkAcl(digestRead, Perms.WRITE, [bob]))
  t.ok(checkAcl(digestRead, Perms.READ | Perms.ADMIN, [bob]), 'any one of the requested bits suffices')
  t.ok(checkAcl(digestRead, Perms.WRITE, [{ scheme: 'super', id: 'anything' }]), 'super bypasses')
  t.notOk(checkAcl([acl(31, 'digest', 'bob:x')], Perms.READ, [{ scheme: 'ip', id: 'bob:x' }]), 'schemes must match')
  const net = [acl(Perms.READ, 'ip', '192.168.0.0/16')]
  t.ok(checkAcl(net, Perms.READ, [{ scheme: 'ip', id: '192.168.44.1' }]))
  t.notOk(checkAcl(net, Perms.READ, [{ scheme: 'ip', id: '192.169.0.1' }]))
})

t.test('ip parsing and matching', async (t) => {
  t.same(parseIp('1.2.3.4'), [1, 2, 3, 4])
  t.same(parseIp('::1'), [...new Array<number>(15).fill(0), 1])
  t.same(parseIp('::ffff:1.2.3.4')!.slice(10), [0xff, 0xff, 1, 2, 3, 4])
  t.same(parseIp('2001:db8::8:800:200c:417a')!.slice(0, 4), [0x20, 0x01, 0x0d, 0xb8])
  for (const bad of ['1.2.3', '1.2.3.4.5', '01234.1.1.1', '1:2:3:4:5:6:7:8:9', '1::2::3', 'g::1', '1:2:3:4:5:6:7', '::1.2.3']) t.equal(parseIp(bad), undefined, bad)
  t.same(parseIpRange('10.0.0.0/8'), { bytes: [10, 0, 0, 0], bits: 8 })
  t.same(parseIpRange('10.0.0.1'), { bytes: [10, 0, 0, 1], bits: 32 })
  t.ok(ipMatches('10.0.0.0/8', '10.200.3.4'))
  t.notOk(ipMatches('10.0.0.0/8', '11.0.0.0'))
  t.ok(ipMatches('10.1.2.3/0', '200.1.1.1'), '/0 matches every IPv4')
  t.notOk(ipMatches('0.0.0.0/0', '::1'), 'IPv4 never matches IPv6')
  t.ok(ipMatches('10.0.0.128/25', '10.0.0.200'))
  t.notOk(ipMatches('10.0.0.128/25', '10.0.0.100'))
  t.ok(ipMatches('fe80::/10', 'febf::1'))
  t.notOk(ipMatches('fe80::/10', 'fec0::1'))
  t.ok(ipMatches('::1', '0:0:0:0:0:0:0:1'))
  t.notOk(ipMatches('::1', 'not-an-ip'))
})

t.test('aclForReader masks digest ids without ADMIN', async (t) => {
  const list = [acl(Perms.READ, 'world', 'anyone'), acl(Perms.ALL, 'digest', bob.id), acl(Perms.READ, 'ip', '1.2.3.4')]
  t.same(aclForReader(list, []), [list[0], acl(Perms.ALL, 'digest', 'bob:x'), list[2]])
  t.same(aclForReader(list, [bob]), list)
  t.not(aclForReader(list, [bob]), list, 'a fresh array')
})
