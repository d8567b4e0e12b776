/**
 * `npm run bench`: runs every benchmark module in bench/ (each exports
 * `bench(): Promise<void>` and prints its own medians and ratios), or only
 * those named on the command line (`npm run bench -- containers`).
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2);
const modules = readdirSync(here)
  .filter((f) => f.endsWith('.js') && f !== 'run.js')
  .map((f) => f.slice(0, -3))
  .filter((name) => wanted.length === 0 || wanted.includes(name))
  .sort();

let failed = false;
for (const name of modules) {
  const mod = (await import(pathToFileURL(path.join(here, `${name}.js`)).href)) as {
    bench?: () => Promise<void>;
  };
  if (typeof mod.bench !== 'function') continue;
  process.stdout.write(`\n## ${name}\n`);
  try {
    await mod.bench();
  } catch (err) {
    failed = true;
    process.stdout.write(`benchmark ${name} failed: ${(err as Error).stack ?? String(err)}\n`);
  }
}
process.exit(failed ? 1 : 0);
