/**
 * `--kernel PATH` (and `ab --a-kernel/--b-kernel`) must name a kernel QEMU can boot with
 * `-kernel`: a bzImage (the x86 boot protocol's "HdrS" at 0x202) or an ELF vmlinux. Checked
 * before the run starts, so a wrong path is exit 2 that says what was found, not a case error.
 */
import { UsageError } from '../errors.js';
import { describeFound, fileHead } from '../inputs.js';

/** True for a file that starts as a bzImage or an ELF executable (a vmlinux; a module's ELF is relocatable). */
export function isBootableKernel(head: Buffer): boolean {
  const elf = head.length >= 18 && head[0] === 0x7f && head.toString('latin1', 1, 4) === 'ELF' && head.readUInt16LE(16) === 2;
  const bz = head.length >= 0x206 && head.toString('latin1', 0x202, 0x206) === 'HdrS';
  return elf || bz;
}

export function checkKernelFile(path: string, flag = '--kernel'): void {
  const head = fileHead(path, 0x206);
  if (head && isBootableKernel(head)) return;
  throw new UsageError(
    `${flag} ${path}: expected a Linux kernel image (a bzImage, or an ELF vmlinux); found ${describeFound(path)}`,
    "give the kernel build's arch/x86/boot/bzImage (or a distribution's /boot/vmlinuz-*), not a module, an initramfs or a package",
  );
}
