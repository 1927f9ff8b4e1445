import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../src/cli/base-command.js';
import { buildLinuxImage, imageFacts, type ImageVariant } from '../../src/linux/image.js';

export default class GuestsBuild extends BaseCommand {
  static override summary = 'Build a guest image (the Linux guest: kernel + kvmbench initramfs), cached under build/linux/<content-key>/.';
  static override description =
    'Kernel from --kernel, else Debian\'s cloud kernel package (apt-get download + dpkg-deb -x), else the host\'s /boot/vmlinuz-$(uname -r). ' +
    'The initramfs holds busybox, the virtio modules in dependency order, /init (guests/linux/init) and, in the fio variant, fio and its libraries; in the net variant, virtio_net and iperf3 with its libraries. ' +
    'Run cases build the same images on demand; an unchanged input set reuses the cache.';
  static override examples = ['<%= config.bin %> guests build linux', '<%= config.bin %> guests build linux --kernel ./bzImage --json'];
  static override args = { guest: Args.string({ required: true, options: ['linux'], description: 'which guest to build' }) };
  static override flags = {
    kernel: Flags.string({ description: 'boot this bzImage instead of fetching one' }),
    modules: Flags.string({ description: 'the /lib/modules/<release> tree that belongs to --kernel' }),
    variant: Flags.string({ options: ['base', 'fio', 'net', 'l1', 'all'], default: 'all', description: 'base (boot timing), fio (I/O), net (network) or l1 (the nested lab\'s L1, Debian\'s standard kernel; not in all) image' }),
    json: Flags.boolean({ default: false, description: 'print the image facts as JSON' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(GuestsBuild);
    const variants: ImageVariant[] = flags.variant === 'all' ? ['base', 'fio', 'net'] : [flags.variant as ImageVariant];
    const out: Record<string, unknown> = {};
    for (const variant of variants) {
      const img = await buildLinuxImage({ variant, kernel: flags.kernel, modulesDir: flags.modules, onProgress: (m) => !flags.json && process.stderr.write(`  ${variant}: ${m}\n`) });
      out[variant] = { dir: img.dir, cached: img.cached, buildMs: Math.round(img.buildMs), ...imageFacts(img) };
      if (!flags.json) {
        this.log(`${variant}: ${img.dir} (${img.cached ? 'cached' : `built in ${(img.buildMs / 1000).toFixed(1)} s`})`);
        this.log(`  kernel ${img.kernel.release ?? '?'} from ${img.kernel.origin}${img.kernel.package ? ` (${img.kernel.package} ${img.kernel.packageVersion})` : ''}, sha256 ${img.kernelSha256.slice(0, 16)}`);
        this.log(`  initramfs ${(img.initramfsBytes / 2 ** 20).toFixed(1)} MiB, sha256 ${img.initramfsSha256.slice(0, 16)}, modules ${img.modules.join(' ') || 'none'}, I/O tool ${img.ioTool}`);
        for (const n of img.notes) this.log(`  note: ${n}`);
      }
    }
    if (flags.json) this.log(JSON.stringify(out, null, 2));
  }
}
