import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checkDataset,
  checkMac,
  checkName,
  checkProperty,
  checkSize,
  checkSnapshot,
  checkVlanId,
  InvalidHostArgument,
} from '@hostplane/protocol';
import { HostExec } from '../src/illumos/host-exec';

export const INJECTIONS = ['x;id', '$(id)', '`id`', 'a b', '../x', 'a\nb', '-x', ''];

describe('illumos argument validation', () => {
  it('accepts the documented alphabets', () => {
    assert.equal(checkName('zone', 'web-01.prod_a'), 'web-01.prod_a');
    assert.equal(checkDataset('dataset', 'rpool/zones/web-01/root'), 'rpool/zones/web-01/root');
    assert.equal(checkSnapshot('snapshot', 'rpool/zones/web@daily-2026.12.07'), 'rpool/zones/web@daily-2026.12.07');
    assert.equal(checkSize('size', '20G'), '20G');
    assert.equal(checkMac('mac', '02:08:20:A4:F3:1'), '02:08:20:a4:f3:1');
    assert.equal(checkVlanId('vlan', 4094), 4094);
    checkProperty('property', 'compression', 'lz4');
  });

  it('refuses every injection string, naming the field', () => {
    for (const bad of INJECTIONS) {
      for (const check of [checkName, checkDataset, checkSnapshot, checkSize, checkMac]) {
        assert.throws(
          () => check('zone_name', bad),
          (err: unknown) =>
            err instanceof InvalidHostArgument && err.field === 'zone_name' && err.message.startsWith('zone_name '),
          `${check.name} ${JSON.stringify(bad)}`,
        );
      }
      assert.throws(() => checkProperty('properties', bad, 'x'), InvalidHostArgument);
      assert.throws(() => checkProperty('properties', 'compression', bad === '' ? '-x' : bad), InvalidHostArgument);
    }
    assert.throws(() => checkName('zone', 'a'.repeat(64)), InvalidHostArgument);
    assert.throws(() => checkName('zone', '1abc'), InvalidHostArgument);
    assert.throws(() => checkDataset('dataset', 'rpool//x'), InvalidHostArgument);
    assert.throws(() => checkDataset('dataset', 'rpool/../x'), InvalidHostArgument);
    for (const vlan of [0, 4095, 1.5, '12a', -1])
      assert.throws(() => checkVlanId('vlan_id', vlan), InvalidHostArgument);
  });

  it('runs host commands as argv behind the configured privilege prefix', async () => {
    const exec = new HostExec({ privilege: ['env', 'HP_PRIV=1'], timeoutMs: 5000, maxOutputBytes: 1024 });
    const out = await exec.stdout(['sh', '-c', 'echo "$HP_PRIV:$0"', 'x;id']);
    assert.equal(out, '1:x;id\n');
    await assert.rejects(exec.run(['sh', '-c', 'yes | head -c 4096']), { failure: 'output_limit' });
    await assert.rejects(exec.run(['sleep', '5'], { timeoutMs: 100 }), { failure: 'timeout' });
  });
});
