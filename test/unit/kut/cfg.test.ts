import { describe, expect, it } from 'vitest';
import { parseCfg, timeoutSeconds } from '../../../src/kut/cfg.js';
import { UsageError } from '../../../src/errors.js';
import { splitWords } from '../../../src/kut/words.js';

const cfg = (text: string) => parseCfg(text, 'x86/unittests.cfg');
const usage = (text: string): string => {
  try {
    cfg(text);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error('parsed');
};

describe('parseCfg', () => {
  it('reads stanzas in order with every key kvm-unit-tests writes', () => {
    const p = cfg(
      `# comment\n[x2apic]\nfile = apic.flat\nsmp = 2\nqemu_params = -cpu qemu64,+x2apic\narch = x86_64\ntimeout = 30\ngroups = apic  smp\n\n[vmexit_cpuid]\nfile = vmexit.flat\ntest_args = 'cpuid'\nextra_params = -m 64\ncheck = /sys/module/kvm/parameters/enable_pmu=Y /proc/sys/kernel/nmi_watchdog=0\naccel = kvm\nmachine = q35\n`,
    );
    expect(p.stanzas.map((s) => s.name)).toEqual(['x2apic', 'vmexit_cpuid']);
    expect(p.stanzas[0]).toMatchObject({
      line: 2,
      file: 'apic.flat',
      smp: '2',
      qemuParams: '-cpu qemu64,+x2apic',
      arch: 'x86_64',
      timeout: '30',
      groups: ['apic', 'smp'],
    });
    expect(p.stanzas[1]).toMatchObject({ testArgs: "'cpuid'", qemuParams: '-m 64', accel: 'kvm', machine: 'q35', groups: [] });
    expect(p.stanzas[1]!.check).toContain('nmi_watchdog=0');
    expect(p.warnings).toEqual([]);
  });

  it('joins a """ value over lines, backslash-newline included', () => {
    const p = cfg('[t]\nfile = t.flat\nqemu_params = """-cpu max \\\n  -m 2048\n  -smp 2"""\ngroups = a\n');
    expect(p.stanzas[0]!.qemuParams).toBe('-cpu max    -m 2048   -smp 2');
    expect(p.stanzas[0]!.groups).toEqual(['a']);
  });

  it('warns about an unknown key and a repeated one, and still runs the stanza', () => {
    const p = cfg('[t]\nfile = t.flat\ncolour = blue\nsmp = 1\nsmp = 2\n');
    expect(p.stanzas[0]!.smp).toBe('2');
    expect(p.warnings[0]).toMatch(/unittests\.cfg:3: unknown key 'colour' in \[t\] ignored/);
    expect(p.warnings[1]).toMatch(/:5: 'smp' given twice/);
  });

  it('refuses a truncated file with the line: no file =, an unterminated """', () => {
    expect(usage('[a]\nfile = a.flat\n[b]\n')).toMatch(/unittests\.cfg:3: stanza \[b\] has no 'file =' line/);
    expect(usage('[a]\nfile = a.flat\nqemu_params = """-m 64\n -smp 2\n')).toMatch(
      /:3: qemu_params starts a """ value that never ends/,
    );
    expect(usage('')).toMatch(/no \[stanza\]/);
  });

  it('refuses garbage, keys before a stanza, duplicates, unsafe names and control characters', () => {
    expect(usage('[a]\nfile = a.flat\nthis is not a line\n')).toMatch(/:3: expected '\[name\]'/);
    expect(usage('file = a.flat\n')).toMatch(/:1: 'file' before the first \[stanza\]/);
    expect(usage('[a]\nfile = a.flat\n[a]\nfile = b.flat\n')).toMatch(/:3: stanza \[a\] defined twice \(first at line 1\)/);
    expect(usage('[../etc]\nfile = a.flat\n')).toMatch(/stanza name/);
    expect(usage('[a]\nfile = a\u0007.flat\n')).toMatch(/:2:9: control character 0x07/);
    expect(usage('[a]\nfile = a.flat\nqemu_params = """-m 64""" trailing\n')).toMatch(/text after the closing """/);
  });

  it('refuses a file over the size limit before parsing it', () => {
    expect(usage(`[a]\nfile = a.flat\n${'#'.repeat(1024 * 1024 + 1)}\n`)).toMatch(/larger than/);
  });
});

describe('timeoutSeconds', () => {
  it('takes coreutils durations, default 90 s', () => {
    expect(timeoutSeconds(undefined)).toBe(90);
    expect(timeoutSeconds('30')).toBe(30);
    expect(timeoutSeconds('30s')).toBe(30);
    expect(timeoutSeconds('2m')).toBe(120);
    expect(timeoutSeconds('1.5h')).toBe(5400);
    expect(timeoutSeconds('0')).toBeUndefined();
    expect(timeoutSeconds('soon')).toBeUndefined();
  });
});

describe('splitWords', () => {
  it('splits like a shell for plain text and quotes', () => {
    expect(splitWords(`-cpu qemu64,+x2apic  -append 'a b' "c \\"d\\"" e\\ f`)).toEqual({
      ok: true,
      words: ['-cpu', 'qemu64,+x2apic', '-append', 'a b', 'c "d"', 'e f'],
    });
    expect(splitWords("'cpuid'")).toEqual({ ok: true, words: ['cpuid'] });
    expect(splitWords('')).toEqual({ ok: true, words: [] });
    expect(splitWords("''")).toEqual({ ok: true, words: [''] });
  });

  it('refuses what needs a shell instead of guessing', () => {
    for (const [text, what] of [
      ['"10000000 `date +%s`"', 'command substitution'],
      ['$(nproc)', 'shell expansion'],
      ['-m $MEM', 'shell expansion'],
      ['a | b', 'pipe'],
      ['a; reboot', 'command separator'],
      ['a && b', 'background'],
      ['> /tmp/x', 'redirection'],
      ['*.flat', 'glob'],
      ['~/x', 'home directory'],
      ["'open", 'unterminated single quote'],
      ['"open', 'unterminated double quote'],
    ] as const) {
      const w = splitWords(text);
      expect(w.ok, text).toBe(false);
      if (!w.ok) expect(w.reason, text).toContain(what);
    }
  });
});
