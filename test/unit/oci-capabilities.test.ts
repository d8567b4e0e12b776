import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isEngineError } from '../../src/common/errors.js';
import {
  ALL_CAPABILITIES,
  capabilitiesFromMask,
  containerCapabilities,
  DEFAULT_CAPABILITIES,
  hostCapabilities,
  normalizeCapability,
} from '../../src/oci/capabilities.js';

const ALL = ALL_CAPABILITIES;

describe('capabilities', () => {
  test('the default set is Docker’s 14 capabilities', () => {
    assert.equal(DEFAULT_CAPABILITIES.length, 14);
    assert.deepEqual(containerCapabilities({ available: ALL }), [...DEFAULT_CAPABILITIES]);
  });

  test('names are case-insensitive, with or without the CAP_ prefix', () => {
    assert.equal(normalizeCapability('net_admin'), 'CAP_NET_ADMIN');
    assert.equal(normalizeCapability('CAP_sys_time'), 'CAP_SYS_TIME');
    assert.equal(normalizeCapability('all'), 'ALL');
  });

  test('CapAdd adds and CapDrop removes', () => {
    const caps = containerCapabilities({
      capAdd: ['NET_ADMIN', 'cap_sys_ptrace'],
      capDrop: ['mknod', 'CAP_NET_RAW'],
      available: ALL,
    });
    assert.ok(caps.includes('CAP_NET_ADMIN'));
    assert.ok(caps.includes('CAP_SYS_PTRACE'));
    assert.ok(!caps.includes('CAP_MKNOD'));
    assert.ok(!caps.includes('CAP_NET_RAW'));
    assert.equal(caps.length, 14);
  });

  test('adding a default capability does not duplicate it', () => {
    const caps = containerCapabilities({ capAdd: ['CHOWN'], available: ALL });
    assert.equal(caps.filter((c) => c === 'CAP_CHOWN').length, 1);
  });

  test('CapDrop ALL keeps only what CapAdd lists', () => {
    assert.deepEqual(
      containerCapabilities({ capDrop: ['ALL'], capAdd: ['chown', 'setuid'], available: ALL }),
      ['CAP_CHOWN', 'CAP_SETUID'],
    );
    assert.deepEqual(containerCapabilities({ capDrop: ['all'], available: ALL }), []);
  });

  test('CapAdd ALL gives every host capability except the dropped ones', () => {
    const caps = containerCapabilities({ capAdd: ['ALL'], capDrop: ['SYS_ADMIN'], available: ALL });
    assert.equal(caps.length, ALL_CAPABILITIES.length - 1);
    assert.ok(!caps.includes('CAP_SYS_ADMIN'));
  });

  test('privileged gets every capability the host can grant', () => {
    assert.deepEqual(containerCapabilities({ privileged: true, capDrop: ['ALL'], available: ALL }), [
      ...ALL_CAPABILITIES,
    ]);
    const withoutSysResource = capabilitiesFromMask(0x1fffeffffffn);
    assert.equal(withoutSysResource.length, 40);
    assert.ok(!withoutSysResource.includes('CAP_SYS_RESOURCE'));
    assert.deepEqual(
      containerCapabilities({ privileged: true, available: withoutSysResource }),
      withoutSysResource,
    );
    assert.deepEqual(
      capabilitiesFromMask(0xa80425fbn),
      [...DEFAULT_CAPABILITIES].sort((a, b) => ALL.indexOf(a) - ALL.indexOf(b)),
    );
  });

  test('the host set is the daemon’s own bounding set', () => {
    const host = hostCapabilities();
    assert.ok(host.includes('CAP_CHOWN'));
    assert.ok(host.every((cap) => ALL.includes(cap)));
  });

  test('an unknown capability is an InvalidParameter error naming it', () => {
    assert.throws(
      () => containerCapabilities({ capAdd: ['NET_ADMIN', 'FLY'] }),
      (err) => isEngineError(err, 'InvalidParameter') && err.message === 'unknown capability: "CAP_FLY"',
    );
    assert.throws(() => containerCapabilities({ capDrop: ['cap_nope'] }), /unknown capability: "CAP_NOPE"/);
  });
});
