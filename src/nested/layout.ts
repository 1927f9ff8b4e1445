/**
 * What the nested lab's L1 sees of the host (docs/nested.md): the least kvmbench needs to run
 * there, read-only, as 9p shares mounted at the same paths, and one writable channel directory.
 * The system directories (`/usr` and, where they are not links into it, `/bin`, `/lib`...),
 * the Node.js and QEMU installations when they live elsewhere, and kvmbench's package (with its
 * node_modules when that is a link out of it). Never `/`, `/etc`, a home directory as a whole,
 * or `/root`: a path that would need one of them is refused with what to do instead.
 *
 * Pure over an injected file-system view, so the rules are unit-tested without a host.
 */
import { dirname, isAbsolute, relative, sep } from 'node:path';
import { UsageError } from '../errors.js';

/** A host directory L1 mounts at the same path. */
export interface Share {
  /** 9p mount tag (`kvmbs0`, `kvmbs1`, ...; QEMU allows 31 bytes). */
  tag: string;
  path: string;
  readonly: boolean;
  /** Why it is shared, for the record and the docs. */
  why: string;
}

/** A top-level symbolic link recreated in L1's root (`/bin -> usr/bin` on a merged-/usr host). */
export interface RootLink {
  name: string;
  target: string;
}

export interface L1Layout {
  shares: Share[];
  links: RootLink[];
  /** Absolute path of the node binary L1 runs (the same as this process's). */
  node: string;
  /** kvmbench's `bin/run.js`. */
  entry: string;
  /** Environment L1's kvmbench gets (names and values without whitespace). */
  env: Record<string, string>;
}

/** The host as the layout rules see it. */
export interface LayoutFs {
  /** `dir`, `link` (with its target), or absent. */
  kind(path: string): { type: 'dir' } | { type: 'link'; target: string } | undefined;
  realpath(path: string): string;
}

/** Top-level system directories: shared when real directories, recreated when links. */
export const SYSTEM_DIRS = ['usr', 'bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32'] as const;

/** Never shared as a whole: what L1 must not see. */
const NEVER_SHARED = ['/', '/etc', '/root', '/home', '/var', '/tmp', '/proc', '/sys', '/dev', '/run', '/boot'];

/** What L1's /init mounts of its own over the root it assembles: a share below one would be hidden. */
const L1_OWN_MOUNTS = ['/tmp', '/dev', '/proc', '/sys', '/io'];

export interface LayoutInput {
  fs: LayoutFs;
  packageRoot: string;
  /** This process's node binary (process.execPath). */
  nodeBinary: string;
  /** The QEMU binary L2 guests use. */
  qemuBinary: string;
  /** The user's home directory: never shared as a whole. */
  home?: string;
  env?: Record<string, string>;
  /** More directories L1 reads, with why (e.g. a kvm-unit-tests tree for `run kut`): the same rules as the others. */
  extra?: Array<{ path: string; why: string }>;
}

function under(path: string, dir: string): boolean {
  const rel = relative(dir, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/** The layout file's words are separated by whitespace: a path must have none (and no control characters). */
export function checkLayoutWord(what: string, value: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (!value || /[\s\0-\x1f\x7f]/.test(value)) {
    throw new UsageError(
      `nested: ${what} ${JSON.stringify(value)} contains whitespace or a control character, which L1's /init cannot take`,
      'install kvmbench, Node.js and QEMU under paths without spaces to use --nested',
    );
  }
  return value;
}

export function planLayout(input: LayoutInput): L1Layout {
  const { fs } = input;
  const shares: Share[] = [];
  const links: RootLink[] = [];
  const add = (path: string, why: string, readonly = true): void => {
    const p = checkLayoutWord('shared path', path);
    if (shares.some((s) => under(p, s.path))) return;
    if (NEVER_SHARED.includes(p) || (input.home && (p === input.home || under(input.home, p)))) {
      throw new UsageError(
        `nested: ${why} would need ${p} shared with L1, which kvmbench never shares`,
        'install it under a directory of its own (e.g. /opt or /usr/local) to use --nested',
      );
    }
    const hidden = L1_OWN_MOUNTS.find((d) => under(p, d));
    if (hidden)
      throw new UsageError(
        `nested: ${why} is under ${hidden}, which L1 mounts of its own (its ${hidden} would hide the share)`,
        `move it out of ${hidden} (e.g. to /var/tmp or your home directory) to use --nested`,
      );
    // A share inside another drops the inner one; an outer one replaces inner ones.
    for (let i = shares.length - 1; i >= 0; i--) if (under(shares[i]!.path, p)) shares.splice(i, 1);
    shares.push({ tag: '', path: p, readonly, why });
  };

  for (const d of SYSTEM_DIRS) {
    const k = fs.kind(`/${d}`);
    if (!k) continue;
    if (k.type === 'link') links.push({ name: checkLayoutWord('link', d), target: checkLayoutWord('link target', k.target) });
    else add(`/${d}`, `system directory /${d} (libraries, QEMU, its firmware)`);
  }
  const covered = (p: string): boolean => shares.some((s) => under(p, s.path));

  const node = fs.realpath(input.nodeBinary);
  // A Node.js installed outside the system directories: its prefix (bin/node, lib/node_modules).
  if (!covered(node)) add(dirname(dirname(node)), `Node.js (${node})`);
  const qemu = fs.realpath(input.qemuBinary);
  // QEMU finds its firmware relative to its binary (../share/qemu): share the prefix.
  if (!covered(qemu)) add(dirname(dirname(qemu)), `QEMU (${qemu})`);

  const pkg = fs.realpath(input.packageRoot);
  add(pkg, 'kvmbench (code, built guests, suites)');
  const modules = `${pkg}${sep}node_modules`;
  if (fs.kind(modules)) {
    const real = fs.realpath(modules);
    if (!covered(real)) add(real, "kvmbench's node_modules");
  }
  for (const x of input.extra ?? []) add(fs.realpath(x.path), x.why);

  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(input.env ?? {})) {
    if (!/^[A-Z_][A-Z0-9_]*$/.test(k))
      throw new UsageError(`nested: environment name ${JSON.stringify(k)} is not NAME_LIKE_THIS`);
    env[k] = checkLayoutWord(`environment value of ${k}`, v);
  }
  shares.forEach((s, i) => (s.tag = `kvmbs${i}`));
  return {
    shares,
    links,
    node: checkLayoutWord('node binary', node),
    entry: checkLayoutWord('kvmbench entry', `${pkg}${sep}bin${sep}run.js`),
    env,
  };
}

/** The 9p tag of the writable channel directory (plan, layout, L1's doctor and results). */
export const CHANNEL_TAG = 'kvmbio';
/** Where L1's kvmbench sees the channel directory. */
export const CHANNEL_MOUNT = '/io';

/** `/io/layout`, read line by line by L1's /init (`guests/linux/init`, mode l1). */
export function layoutFile(l: L1Layout): string {
  const lines = [
    ...l.shares.map((s) => `share ${s.tag} ${s.path} ${s.readonly ? 'ro' : 'rw'}`),
    ...l.links.map((k) => `link ${k.name} ${k.target}`),
    ...Object.entries(l.env).map(([k, v]) => `env ${k} ${v}`),
    `node ${l.node}`,
    `entry ${l.entry}`,
  ];
  return lines.join('\n') + '\n';
}

/** QEMU's `-virtfs` arguments for the shares and the channel. */
export function virtfsArgs(l: L1Layout, channelDir: string): string[] {
  const opt = (v: string): string => v.replace(/,/g, ',,');
  const out: string[] = [];
  for (const s of l.shares)
    out.push('-virtfs', `local,path=${opt(s.path)},mount_tag=${s.tag},security_model=none${s.readonly ? ',readonly=on' : ''}`);
  out.push('-virtfs', `local,path=${opt(channelDir)},mount_tag=${CHANNEL_TAG},security_model=none`);
  return out;
}
