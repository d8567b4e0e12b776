#!/usr/bin/env node
// Runs the compiled test suites with node's test runner, one file at a time:
// integration and e2e files start real daemons and containers, and a 2-core
// machine is better served running them in sequence.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const requested = process.argv.slice(2);
const suites = requested.length > 0 ? requested : ['unit', 'integration', 'e2e'];
const dirs = suites.map((suite) => `dist/test/${suite}`).filter((dir) => existsSync(dir));
const result = spawnSync(
  process.execPath,
  ['--test', '--test-concurrency=1', '--test-timeout=300000', ...dirs],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
