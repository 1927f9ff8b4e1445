/**
 * Builds the Linux guest image: a kernel and an initramfs written by
 * kvmbench's own newc writer, cached under build/linux/<content-key>/. The key
 * is a hash of every input (kernel, modules, busybox, /init, fio and its
 * libraries), so a changed input gives a new image and an unchanged one is reused.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { packageRoot } from '../version.js';
import { writeNewc, type NewcEntry } from './newc.js';
import { resolveModulesInTree } from './modules.js';
import { findBusybox, findHostFio, findHostIperf3, findKernel, type BinarySource, type KernelSource } from './sources.js';

/**
 * `base` boots to init and stops (boot timing); `fio` adds fio and its libraries (I/O); `net` adds
 * virtio-net and iperf3 (network); `l1` is the nested lab's L1 (Debian's standard kernel, 9p and
 * KVM's modules; its /init mounts the host's shares and runs kvmbench one level down, docs/nested.md).
 */
export type ImageVariant = 'base' | 'fio' | 'net' | 'l1';

/** Modules the guest needs: virtio over MMIO (microvm) and PCI (q35, pc), and the block driver. */
export const GUEST_MODULES = ['virtio_mmio', 'virtio_pci', 'virtio_blk'];
/** The `net` image also loads the network driver (and its failover dependencies). */
export const NET_MODULES = ['virtio_net'];

/** The `l1` image: the 9p client for the host's shares and KVM; the vendor modules are loaded by CPU vendor. */
export const L1_MODULES = ['virtio_pci', '9pnet_virtio', '9p', 'kvm_amd', 'kvm_intel'];
/** The vendor modules of KVM: /init loads the one the CPU has (svm: kvm_amd, vmx: kvm_intel). */
export const KVM_VENDOR_MODULES = ['kvm_amd', 'kvm_intel'];

/** Bump when the image layout changes in a way the inputs' hashes would not show. */
const LAYOUT_VERSION = 1;

export interface LinuxImage {
  variant: ImageVariant;
  key: string;
  dir: string;
  kernelPath: string;
  initramfsPath: string;
  kernelSha256: string;
  initramfsSha256: string;
  initramfsBytes: number;
  kernel: Omit<KernelSource, 'path' | 'modulesDir'> & { sourcePath: string };
  busybox: Omit<BinarySource, 'path'> & { sourcePath: string };
  /** Modules in load order. */
  modules: string[];
  /** `fio` when the image carries fio, `dd` when an fio image could not get it (busybox dd, sequential jobs only), `none` for base. */
  ioTool: 'fio' | 'dd' | 'none';
  fioVersion?: string;
  /** The `net` image's iperf3 (`iperf 3.12`), absent when the host had none. */
  iperf3Version?: string;
  notes: string[];
  /** True when the image came from the cache. */
  cached: boolean;
  buildMs: number;
}

export interface BuildOptions {
  variant: ImageVariant;
  kernel?: string;
  modulesDir?: string;
  /** Cache root; default <package>/build/linux. */
  cacheDir?: string;
  /** Leave fio out even when the host has it (tests the dd fallback). */
  noFio?: boolean;
  onProgress?(msg: string): void;
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

export function defaultCacheDir(): string {
  return join(packageRoot(), 'build', 'linux');
}

export function initSourcePath(): string {
  return join(packageRoot(), 'guests', 'linux', 'init');
}

/** Builds (or finds in the cache) the image for `o.variant`. */
export async function buildLinuxImage(o: BuildOptions): Promise<LinuxImage> {
  const t0 = performance.now();
  const cacheDir = o.cacheDir ?? defaultCacheDir();
  const say = o.onProgress ?? (() => {});
  say('kernel');
  const { kernel, notes } = await findKernel({
    kernel: o.kernel,
    modulesDir: o.modulesDir,
    cacheDir,
    flavour: o.variant === 'l1' ? 'standard' : 'cloud',
  });
  const kernelBytes = readFileSync(kernel.path);
  say('modules');
  const wanted = o.variant === 'net' ? [...GUEST_MODULES, ...NET_MODULES] : o.variant === 'l1' ? L1_MODULES : GUEST_MODULES;
  const modules = kernel.modulesDir ? await resolveModulesInTree(kernel.modulesDir, wanted) : [];
  const isVendor = (name: string): boolean => KVM_VENDOR_MODULES.includes(name);
  if (!kernel.modulesDir) notes.push('no module tree for this kernel: virtio must be built in');
  const busybox = await findBusybox(cacheDir);
  const busyboxBytes = readFileSync(busybox.path);
  const initBytes = readFileSync(initSourcePath());
  const fio = o.variant === 'fio' && !o.noFio ? await findHostFio() : undefined;
  if (o.variant === 'fio' && !fio)
    notes.push(o.noFio ? 'fio left out on request: dd fallback' : 'no fio on the host: dd fallback (sequential jobs only)');
  const iperf3 = o.variant === 'net' ? await findHostIperf3() : undefined;
  if (o.variant === 'net' && !iperf3) notes.push('no iperf3 on the host: the image has none');

  const entries: NewcEntry[] = [
    { type: 'dir', path: 'dev' },
    // The console nodes exist before devtmpfs is mounted so /init's first line needs no mount.
    { type: 'chardev', path: 'dev/console', major: 5, minor: 1 },
    { type: 'chardev', path: 'dev/ttyS0', major: 4, minor: 64 },
    { type: 'chardev', path: 'dev/null', major: 1, minor: 3, mode: 0o666 },
    { type: 'dir', path: 'proc' },
    { type: 'dir', path: 'sys' },
    { type: 'dir', path: 'tmp', mode: 0o1777 },
    { type: 'file', path: 'bin/busybox', data: busyboxBytes, mode: 0o755 },
    { type: 'symlink', path: 'bin/sh', target: 'busybox' },
    { type: 'file', path: 'init', data: initBytes, mode: 0o755 },
    {
      type: 'file',
      path: 'etc/kvmbench/modules',
      data: Buffer.from(
        modules
          .filter((m) => !isVendor(m.name))
          .map((m) => m.name)
          .join('\n') + '\n',
      ),
    },
    {
      type: 'file',
      path: 'etc/kvmbench/modules-vendor',
      data: Buffer.from(
        modules
          .filter((m) => isVendor(m.name))
          .map((m) => m.name)
          .join('\n') + '\n',
      ),
    },
    ...modules.map((m): NewcEntry => ({ type: 'file', path: `lib/modules/kvmbench/${m.name}.ko`, data: m.data })),
  ];
  if (fio) {
    entries.push({ type: 'file', path: 'usr/bin/fio', data: readFileSync(fio.path), mode: 0o755 });
    for (const [guestPath, hostPath] of fio.libs)
      entries.push({ type: 'file', path: guestPath, data: readFileSync(hostPath), mode: 0o755 });
  }
  if (iperf3) {
    entries.push({ type: 'file', path: 'usr/bin/iperf3', data: readFileSync(iperf3.path), mode: 0o755 });
    for (const [guestPath, hostPath] of iperf3.libs)
      entries.push({ type: 'file', path: guestPath, data: readFileSync(hostPath), mode: 0o755 });
  }

  const h = createHash('sha256');
  h.update(`layout ${LAYOUT_VERSION} variant ${o.variant}\n`);
  h.update(`kernel ${sha256(kernelBytes)}\n`);
  for (const e of entries) h.update(`${e.type} ${e.path} ${'data' in e ? sha256(e.data) : 'target' in e ? e.target : ''}\n`);
  const key = h.digest('hex').slice(0, 16);
  const dir = join(cacheDir, key);
  const manifestPath = join(dir, 'image.json');
  if (existsSync(manifestPath)) {
    const img = JSON.parse(readFileSync(manifestPath, 'utf8')) as LinuxImage;
    return {
      ...img,
      dir,
      kernelPath: join(dir, 'vmlinuz'),
      initramfsPath: join(dir, 'initramfs.cpio'),
      cached: true,
      buildMs: performance.now() - t0,
    };
  }
  say('initramfs');
  const cpio = writeNewc(entries);
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  copyFileSync(kernel.path, join(tmp, 'vmlinuz'));
  writeFileSync(join(tmp, 'initramfs.cpio'), cpio);
  const { path: kpath, modulesDir: _md, ...kinfo } = kernel;
  const { path: bpath, ...binfo } = busybox;
  const img: LinuxImage = {
    variant: o.variant,
    key,
    dir,
    kernelPath: join(dir, 'vmlinuz'),
    initramfsPath: join(dir, 'initramfs.cpio'),
    kernelSha256: sha256(kernelBytes),
    initramfsSha256: sha256(cpio),
    initramfsBytes: cpio.length,
    kernel: { ...kinfo, sourcePath: displayPath(kpath) },
    busybox: { ...binfo, sourcePath: displayPath(bpath) },
    modules: modules.map((m) => m.name),
    ioTool: fio ? 'fio' : o.variant === 'fio' ? 'dd' : 'none',
    fioVersion: fio?.version,
    ...(iperf3 ? { iperf3Version: iperf3.version } : {}),
    notes,
    cached: false,
    buildMs: 0,
  };
  writeFileSync(join(tmp, 'image.json'), JSON.stringify(img, null, 2) + '\n');
  try {
    renameSync(tmp, dir);
  } catch (e) {
    // Another kvmbench built the same key meanwhile: same inputs, same image; keep theirs.
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(manifestPath)) throw e;
  }
  return { ...img, buildMs: performance.now() - t0 };
}

function displayPath(p: string): string {
  const rel = relative(packageRoot(), p);
  return rel.startsWith('..') ? p : rel;
}

/** Facts for results: where every part came from and the hashes of what was booted. */
export function imageFacts(img: LinuxImage): Record<string, string> {
  const f: Record<string, string> = {
    imageKey: img.key,
    variant: img.variant,
    kernelOrigin: img.kernel.origin,
    kernelSource: img.kernel.sourcePath,
    kernelSha256: img.kernelSha256,
    initramfsSha256: img.initramfsSha256,
    initramfsBytes: String(img.initramfsBytes),
    busyboxOrigin: img.busybox.origin,
    modules: img.modules.join(','),
    ioTool: img.ioTool,
  };
  if (img.kernel.release) f.kernelRelease = img.kernel.release;
  if (img.kernel.package) f.kernelPackage = `${img.kernel.package}=${img.kernel.packageVersion ?? ''}`;
  if (img.busybox.package) f.busyboxPackage = `${img.busybox.package}=${img.busybox.packageVersion ?? ''}`;
  if (img.fioVersion) f.fioVersion = img.fioVersion;
  if (img.iperf3Version) f.iperf3Version = img.iperf3Version;
  if (img.notes.length) f.notes = img.notes.join('; ');
  return f;
}
