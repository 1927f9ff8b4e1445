/**
 * Case policy for the Linux guest cases (boot-linux, io, net): which boots a run attempts, and what
 * a KVM failure of a Linux guest tells the user. The boot itself is src/linux/launch.ts, which knows
 * nothing of cases or of the run's memory.
 */
import { PVM_STOCK_KERNEL } from '../host/flavor.js';
import type { LinuxImage } from '../linux/image.js';
import type { Accelerator } from '../results/model.js';
import { describeKvmFailure, type KvmFailure } from '../vmm/kvm-error.js';
import type { CaseContext } from './types.js';

/** The run-memory key of a kernel that KVM could not run under an accelerator. */
export function kernelFailureKey(accel: Accelerator, kernelSha256: string): string {
  return `kvm-failure:${accel}:${kernelSha256}`;
}

/**
 * Why this run must not boot a Linux guest at all, or undefined. Under KVM on a PVM host a stock
 * kernel (Debian's, or the host's own) stops with an emulation failure: known before the image
 * is built, so call it first with `given` only. A kernel that already hit a KVM failure in this
 * run would only hit it again: known once the image (its kernel's sha256) is. A kernel the user
 * gave (`--kernel`) is always tried once.
 */
export function linuxBootBlocked(
  ctx: Pick<CaseContext, 'accel' | 'host' | 'memory'>,
  kernel: { given: boolean; sha256?: string },
): string | undefined {
  if (ctx.accel !== 'kvm') return undefined;
  const seen = kernel.sha256 ? ctx.memory.get(kernelFailureKey(ctx.accel, kernel.sha256)) : undefined;
  if (seen) return `this kernel already failed under KVM in this run: ${seen}`;
  if (ctx.host.kvmFlavor === 'pvm' && !kernel.given) {
    return `${PVM_STOCK_KERNEL}; the Linux guest's kernel is a stock one (Debian's cloud kernel, or this host's own): give a PVM-enabled kernel with --kernel PATH, or use --accel tcg`;
  }
  return undefined;
}

/** What to do about a KVM failure of a Linux guest, by the host's flavour. */
export function kvmFailureHint(flavor: string | undefined): string {
  if (flavor === 'pvm') return `${PVM_STOCK_KERNEL}: boot a PVM-enabled kernel (--kernel PATH) or use --accel tcg`;
  return 'KVM could not go on running this kernel (the register dump is in the case log); try another kernel, or --accel tcg to check the guest itself';
}

/** Remembers a KVM failure of a kernel, so later cases of the run skip instead of failing again. */
export function rememberKernelFailure(
  ctx: Pick<CaseContext, 'accel' | 'memory'>,
  img: Pick<LinuxImage, 'kernelSha256'>,
  failure: KvmFailure,
  hint?: string,
): void {
  ctx.memory.set(kernelFailureKey(ctx.accel, img.kernelSha256), `${describeKvmFailure(failure)}${hint ? `; ${hint}` : ''}`);
}
