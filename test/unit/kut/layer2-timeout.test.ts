/** Stanza timeouts one level down (run kut --nested): scaled like the case deadlines, other cases untouched. */
import { describe, expect, it } from 'vitest';
import { scaleStanzaTimeout, stanzaCase } from '../../../src/suites/kut.js';
import { parseCfg } from '../../../src/kut/cfg.js';
import type { KutTree } from '../../../src/kut/tree.js';

const cfg = parseCfg(
  '[a]\nfile = a.flat\n\n[b]\nfile = b.flat\ntimeout = 2m\n\n[c]\nfile = c.flat\ntimeout = soon\n',
  'x86/unittests.cfg',
);
const tree: KutTree = { dir: '/kut', cfgPath: '/kut/x86/unittests.cfg', arch: 'x86_64', efi: false, cfg };
const [a, b, c] = cfg.stanzas.map((s) => stanzaCase(tree, s, false));

describe('scaleStanzaTimeout', () => {
  it("multiplies the stanza's own timeout (default 90 s) by the scale", () => {
    expect(scaleStanzaTimeout(a!, 4).args.timeout).toBe('360s');
    expect(scaleStanzaTimeout(b!, 4).args.timeout).toBe('480s');
    expect(scaleStanzaTimeout(b!, 1)).toBe(b);
  });

  it('leaves a timeout that is not a duration for the executor to skip, and other kinds alone', () => {
    expect(scaleStanzaTimeout(c!, 4).args.timeout).toBe('soon');
    const exits = { ...a!, kind: 'exits', args: { timeout: '5' } };
    expect(scaleStanzaTimeout(exits, 4)).toBe(exits);
  });
});
