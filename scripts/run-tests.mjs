#!/usr/bin/env node
// Runs the compiled test suites with node's test runner. Unit tests run in
// parallel; integration and e2e suites each start real daemons and containers,
// so they run one file at a time to stay within a 2-core machine.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const suites = process.argv.slice(2);
const selected = suites.length > 0 ? suites : ['unit', 'integration', 'e2e'];
let failed = false;
for (const suite of selected) {
  const dir = `dist/test/${suite}`;
  if (!existsSync(dir)) continue;
  const concurrency = suite === 'unit' ? '2' : '1';
  const result = spawnSync(
    process.execPath,
    ['--test', `--test-concurrency=${concurrency}`, '--test-timeout=300000', dir],
    { stdio: 'inherit' },
  );
  if (result.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
