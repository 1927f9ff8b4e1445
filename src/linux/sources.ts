/**
 * Where the Linux guest's parts come from: the kernel (a given path, Debian's
 * cloud kernel package, or the host's own), busybox and fio. Package tools are
 * always run with argv arrays (execFile), never through a shell.
 */
import { execFile } from 'node:child_process';
import {
  accessSync,
  constants,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { EnvironmentError } from '../errors.js';

const execFileP = promisify(execFile);

export type KernelOrigin = 'flag' | 'debian-package' | 'host-boot';

export interface KernelSource {
  origin: KernelOrigin;
  /** bzImage path. */
  path: string;
  /** `/lib/modules/<release>` tree, when one is known. */
  modulesDir?: string;
  /** Kernel release, e.g. `6.1.0-56-cloud-amd64`. */
  release?: string;
  /** Debian package name and version, for `debian-package`. */
  package?: string;
  packageVersion?: string;
}

/** First executable named `name` on PATH (searched here rather than through a shell). */
export function which(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(':')) {
    if (!dir) continue;
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

function readable(p: string): boolean {
  try {
    accessSync(p, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

let aptListsRefreshed = false;

/** `apt-get download PKG` into dir (cached by file name); returns the .deb path. */
export async function aptDownload(pkg: string, dir: string): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const existing = readdirSync(dir).find((f) => f.startsWith(`${pkg}_`) && f.endsWith('.deb'));
  if (existing) return join(dir, existing);
  const download = () => execFileP('apt-get', ['download', pkg], { cwd: dir, timeout: 300_000, maxBuffer: 16 << 20 });
  try {
    try {
      await download();
    } catch (first) {
      // A machine whose package lists were never fetched knows no packages: as root,
      // fetch them once and try again (what a person would do).
      if (process.getuid?.() !== 0 || aptListsRefreshed) throw first;
      aptListsRefreshed = true;
      await execFileP('apt-get', ['update', '-q'], { timeout: 300_000, maxBuffer: 16 << 20 });
      await download();
    }
  } catch (e) {
    throw new EnvironmentError(
      `apt-get download ${pkg} failed: ${((e as { stderr?: string }).stderr ?? String(e)).trim().split('\n').pop()}`,
      'run `apt-get update` (as root), or pass --kernel PATH',
    );
  }
  const deb = readdirSync(dir).find((f) => f.startsWith(`${pkg}_`) && f.endsWith('.deb'));
  if (!deb) throw new EnvironmentError(`apt-get download ${pkg} produced no .deb`);
  return join(dir, deb);
}

export async function debField(deb: string, field: string): Promise<string> {
  const { stdout } = await execFileP('dpkg-deb', ['-f', deb, field]);
  return stdout.trim();
}

/** Unpacks a .deb once into `dest` (atomically: into a temp dir, then renamed). */
export async function debExtract(deb: string, dest: string): Promise<string> {
  if (existsSync(dest)) return dest;
  const tmp = `${dest}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  await execFileP('dpkg-deb', ['-x', deb, tmp], { timeout: 300_000 });
  try {
    renameSync(tmp, dest);
  } catch (e) {
    // Unpacked by a concurrent kvmbench meanwhile.
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(dest)) throw e;
  }
  return dest;
}

/**
 * Which of Debian's kernels: `cloud` (`linux-image-cloud-amd64`: small, virtio and kvm-amd
 * built, no 9p) for the Linux guest's own cases, `standard` (`linux-image-amd64`: 9p, kvm-amd
 * and kvm-intel as modules) for the nested lab's L1, which mounts the host's files over 9p.
 */
export type DebianKernelFlavour = 'cloud' | 'standard';

const DEBIAN_KERNEL_METAPACKAGE: Record<DebianKernelFlavour, string> = {
  cloud: 'linux-image-cloud-amd64',
  standard: 'linux-image-amd64',
};

/**
 * A Debian kernel: the metapackage (`linux-image-cloud-amd64`, `linux-image-amd64`) only
 * depends on the versioned image package, so download the metapackage, read its
 * Depends, download and unpack that.
 */
export async function fetchDebianKernel(cacheDir: string, flavour: DebianKernelFlavour = 'cloud'): Promise<KernelSource> {
  const debDir = join(cacheDir, 'packages');
  const meta = await aptDownload(DEBIAN_KERNEL_METAPACKAGE[flavour], debDir);
  const depends = await debField(meta, 'Depends');
  const m = /(linux-image-[0-9][^\s,(|]*)/.exec(depends);
  if (!m) throw new EnvironmentError(`cannot find the versioned kernel package in Depends: ${depends}`);
  const pkg = m[1]!;
  const deb = await aptDownload(pkg, debDir);
  const version = await debField(deb, 'Version');
  const root = await debExtract(deb, join(cacheDir, 'unpacked', `${pkg}_${version}`));
  const vmlinuz = readdirSync(join(root, 'boot')).find((f) => f.startsWith('vmlinuz-'));
  if (!vmlinuz) throw new EnvironmentError(`${pkg} has no /boot/vmlinuz-*`);
  const release = vmlinuz.slice('vmlinuz-'.length);
  const modulesDir = [join(root, 'lib/modules', release), join(root, 'usr/lib/modules', release)].find((d) => existsSync(d));
  return {
    origin: 'debian-package',
    path: join(root, 'boot', vmlinuz),
    modulesDir,
    release,
    package: pkg,
    packageVersion: version,
  };
}

export function hostKernel(): KernelSource | undefined {
  const release = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  const path = `/boot/vmlinuz-${release}`;
  if (!readable(path)) return undefined;
  const modulesDir = existsSync(`/lib/modules/${release}/kernel`) ? `/lib/modules/${release}` : undefined;
  return { origin: 'host-boot', path, modulesDir, release };
}

export interface KernelOptions {
  kernel?: string;
  modulesDir?: string;
  cacheDir: string;
  /** Which Debian kernel when none is given (default `cloud`). */
  flavour?: DebianKernelFlavour;
}

/** --kernel, else Debian's kernel package of the flavour, else the host's /boot kernel. */
export async function findKernel(o: KernelOptions): Promise<{ kernel: KernelSource; notes: string[] }> {
  const notes: string[] = [];
  if (o.kernel) {
    if (!readable(o.kernel)) throw new EnvironmentError(`--kernel ${o.kernel} is not readable`);
    return { kernel: { origin: 'flag', path: realpathSync(o.kernel), modulesDir: o.modulesDir }, notes };
  }
  try {
    return { kernel: await fetchDebianKernel(o.cacheDir, o.flavour), notes };
  } catch (e) {
    notes.push(`Debian ${o.flavour ?? 'cloud'} kernel unavailable: ${(e as Error).message}`);
  }
  const host = hostKernel();
  if (host) return { kernel: host, notes };
  throw new EnvironmentError(
    `no kernel: ${notes.join('; ')}; /boot/vmlinuz-$(uname -r) not readable`,
    'pass --kernel PATH (a bzImage), or make apt-get download work',
  );
}

/** True when an ELF file has no PT_INTERP program header (statically linked). */
export function isStaticElf(path: string): boolean {
  const b = readFileSync(path);
  if (b.length < 64 || b.readUInt32BE(0) !== 0x7f454c46 || b[4] !== 2) return false;
  const phoff = Number(b.readBigUInt64LE(0x20));
  const phentsize = b.readUInt16LE(0x36);
  const phnum = b.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) if (b.readUInt32LE(phoff + i * phentsize) === 3) return false;
  return true;
}

export interface BinarySource {
  path: string;
  origin: 'host' | 'debian-package';
  package?: string;
  packageVersion?: string;
}

/** A static busybox: the host's (busybox-static) when it is static, else the busybox-static package. */
export async function findBusybox(cacheDir: string): Promise<BinarySource> {
  for (const p of ['/bin/busybox', '/usr/bin/busybox'])
    if (readable(p) && isStaticElf(p)) return { path: realpathSync(p), origin: 'host' };
  const deb = await aptDownload('busybox-static', join(cacheDir, 'packages'));
  const version = await debField(deb, 'Version');
  const root = await debExtract(deb, join(cacheDir, 'unpacked', `busybox-static_${version}`));
  const p = join(root, 'bin/busybox');
  if (!existsSync(p)) throw new EnvironmentError('busybox-static package has no /bin/busybox');
  return { path: p, origin: 'debian-package', package: 'busybox-static', packageVersion: version };
}

export interface FioSource {
  path: string;
  version: string;
  /** Shared libraries as [path-in-guest, host path], the ELF interpreter included. */
  libs: Array<[string, string]>;
}

/** The host's fio and the shared libraries it links (from ldd), or undefined when there is no fio. */
export async function findHostFio(): Promise<FioSource | undefined> {
  return findHostTool('fio', ['--version']);
}

/** The host's iperf3 (Debian's `iperf3` package: the binary and libiperf) and its libraries, or undefined. */
export async function findHostIperf3(): Promise<FioSource | undefined> {
  return findHostTool('iperf3', ['--version']);
}

/** A host binary, its version line and the shared libraries it links (from ldd), for the guest image. */
export async function findHostTool(name: string, versionArgs: string[]): Promise<FioSource | undefined> {
  const path = which(name);
  if (!path) return undefined;
  const version = (await execFileP(path, versionArgs)).stdout.trim().split('\n')[0]!.trim();
  const { stdout } = await execFileP('ldd', [path]);
  const libs: Array<[string, string]> = [];
  for (const line of stdout.split('\n')) {
    const arrow = /^\s*(\S+)\s+=>\s+(\/\S+)/.exec(line);
    const bare = /^\s*(\/\S+)\s+\(/.exec(line);
    const guestPath = arrow ? arrow[2]! : bare ? bare[1]! : undefined;
    if (guestPath) libs.push([guestPath, realpathSync(guestPath)]);
  }
  return { path: realpathSync(path), version, libs };
}
