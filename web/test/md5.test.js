// @ts-check
/** @file MD5 against the RFC 1321 test suite and node:crypto. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { md5Hex } from '../md5.js';

test('RFC 1321 appendix A.5 vectors', () => {
  const vectors = [
    ['', 'd41d8cd98f00b204e9800998ecf8427e'],
    ['a', '0cc175b9c0f1b6a831c399e269772661'],
    ['abc', '900150983cd24fb0d6963f7d28e17f72'],
    ['message digest', 'f96b697d7cb7938d525a2f31aaf161d0'],
    ['abcdefghijklmnopqrstuvwxyz', 'c3fcd3d76192e4007dfb496cca67e13b'],
    ['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', 'd174ab98d277d9f5a5611c2c9f419d9f'],
    ['12345678901234567890123456789012345678901234567890123456789012345678901234567890', '57edf4a22be3c955ac49da2e2107b67a'],
  ];
  for (const [input, want] of vectors) assert.equal(md5Hex(input), want, JSON.stringify(input));
});

test('agrees with node:crypto on every length around the block boundaries and on UTF-8', () => {
  for (let n = 0; n < 200; n++) {
    const s = 'x'.repeat(n);
    assert.equal(md5Hex(s), createHash('md5').update(s).digest('hex'), `length ${n}`);
  }
  const text = 'café ☎ 😀 \u2028';
  assert.equal(md5Hex(text), createHash('md5').update(text, 'utf8').digest('hex'));
});

