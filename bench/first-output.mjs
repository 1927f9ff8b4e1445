#!/usr/bin/env node
// How long a guest takes to show that it runs: spawn of QEMU → the first byte the guest (or its
// firmware) writes on any of its channels. This is what the startup budget (src/vmm/startup.ts,
// docs/architecture.md "Startup budget") is sized from: a launch that sees no such byte within the
// budget is ended as "QEMU started but the guest never ran". Prints median and max per guest,
// machine and firmware, in ms, with the accelerator and the number of boots.
//   npm run build && node bench/first-output.mjs [--accel tcg|kvm] [--boots N]
// Micro guests: the hello guest's entry byte on its debug port (0xe9) and its `hello` line on COM1.
// Linux: SeaBIOS's first debug-port byte (q35), the kernel's setup code (kernel_entry), the
// decompressor and setup_arch() (kernel_main) marks, and /init's first line.
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { readFileSync } from 'node:fs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const accel = arg('--accel', 'tcg');
const boots = Number(arg('--boots', '5'));
const cpu = accel === 'kvm' ? 'host' : 'max';

const { launchQemu } = await import(join(root, 'dist/src/vmm/launch.js'));
const { guestImage } = await import(join(root, 'dist/src/guests/index.js'));
const { bootLinux, hostTscKhz } = await import(join(root, 'dist/src/linux/launch.js'));
const { buildLinuxImage } = await import(join(root, 'dist/src/linux/image.js'));

const ms = (a, b) => Number(b - a) / 1e6;
const stats = (xs) => {
  const s = [...xs].sort((x, y) => x - y);
  return s.length ? `median ${s[Math.floor(s.length / 2)].toFixed(0)} ms, max ${s[s.length - 1].toFixed(0)} ms` : 'none';
};
const rows = [];
const progress = (s) => process.stderr.write(`${s}\n`);

const hello = await guestImage('hello');
for (const [machine, bios] of [
  ['microvm', undefined],
  ['q35', 'qboot.rom'],
  ['q35', undefined],
  ['pc', undefined],
]) {
  progress(`hello on ${machine}${bios ? ` with ${bios}` : ''}`);
  const entry = [],
    line = [];
  for (let i = 0; i < boots; i++) {
    let helloAt;
    const r = await launchQemu({
      qemu: { machine, accel, cpu, memoryMiB: 64, kernel: hello.path, ...(bios ? { bios } : {}) },
      timeoutMs: 60_000,
      onDebugBytes: () => {},
      onLine: (l, at) => {
        if (l.kind === 'event' && l.type === 'hello') helloAt ??= at;
      },
    });
    if (r.status !== 'pass') throw new Error(`${machine}: ${r.reason}`);
    if (r.timeline.firstDebugByteNs !== undefined) entry.push(ms(r.timeline.spawnNs, r.timeline.firstDebugByteNs));
    if (helloAt !== undefined) line.push(ms(r.timeline.spawnNs, helloAt));
  }
  const fw = machine === 'microvm' ? 'qboot' : bios ? 'qboot' : 'seabios';
  rows.push(`hello ${machine}/${fw}: spawn→entry byte ${stats(entry)}; spawn→hello line ${stats(line)}`);
}

const img = await buildLinuxImage({ variant: 'base' });
for (const machine of ['q35', 'microvm']) {
  progress(`linux on ${machine}`);
  const by = { first: [], firmware: [], kernel_entry: [], decompressor: [], kernel_main: [], init_started: [] };
  for (let i = 0; i < boots; i++) {
    // As the Linux executors do: microvm under TCG has no timer to calibrate the TSC against.
    const tscKhz = machine === 'microvm' && accel === 'tcg' ? hostTscKhz(readFileSync('/proc/cpuinfo', 'utf8')) : undefined;
    const r = await bootLinux({ image: img, machine, accel, cpu, timeoutMs: 60_000, ...(tscKhz ? { tscKhz } : {}) });
    if (!r.ok) throw new Error(`linux ${machine}: ${r.reason}`);
    for (const k of Object.keys(by)) if (k !== 'first' && r.marks[k] !== undefined) by[k].push(r.marks[k]);
    const first = Math.min(...['firmware', 'kernel_entry', 'init_started'].map((k) => r.marks[k] ?? Infinity));
    by.first.push(first);
  }
  for (const [k, v] of Object.entries(by))
    if (v.length) rows.push(`linux ${machine}: spawn→${k === 'first' ? 'first guest byte' : k} ${stats(v)}`);
}
console.log(`first guest output, accelerator ${accel}, ${boots} boots each (host clock, ms from spawn):`);
for (const r of rows) console.log(`  ${r}`);
