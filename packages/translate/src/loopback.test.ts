import { describe, expect, it } from 'vitest';
import { isLoopbackOrLinkLocal } from './loopback.js';

describe('isLoopbackOrLinkLocal', () => {
  it.each([
    '127.0.0.1',
    '127.255.0.9',
    '127.1',
    '0x7f.1',
    '2130706433',
    '169.254.169.254',
    '0.0.0.0',
    '::1',
    '0:0:0:0:0:0:0:1',
    '::',
    'fe80::1',
    'FEBF::abcd',
    '::ffff:127.0.0.1',
    '::ffff:169.254.1.1',
    'localhost',
    'LOCALHOST.',
    'foo.localhost',
  ])('refuses %s', (name) => expect(isLoopbackOrLinkLocal(name)).toBe(true));

  it.each([
    '10.0.0.1',
    '128.0.0.1',
    '169.255.0.1',
    'fec0::1',
    '2001:db8::1',
    '::ffff:10.0.0.1',
    'api.example.org',
    'localhost.example.com',
    'not a host',
  ])('accepts %s', (name) => expect(isLoopbackOrLinkLocal(name)).toBe(false));
});
