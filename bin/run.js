#!/usr/bin/env node
// `--version` is answered before oclif loads (about 0.15 s of module loading here), in oclif's own
// format (`kvmbench/0.1.0 linux-x64 node-v20.20.2`; test/e2e checks that the two agree). Every
// other argument list goes to oclif, which loads only the command being run (oclif.manifest.json).
if (process.argv.length === 3 && process.argv[2] === '--version') {
  const { readFileSync } = await import('node:fs');
  const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  process.stdout.write(`kvmbench/${version} ${process.platform}-${process.arch} node-${process.version}\n`);
} else {
  const { execute } = await import('@oclif/core');
  await execute({ dir: import.meta.url });
}
