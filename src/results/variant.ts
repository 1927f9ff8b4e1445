/**
 * What a `kvmbench ab` variant (results model: `RunVariant`) adds to a case's `vm` record. The QEMU
 * side of a variant (binary, extra arguments) is `variantQemu` in src/vmm/qemu.ts.
 */
import type { RunVariant } from './model.js';

/**
 * What a variant contributes to a case's `vm` record, so compare's VM-configuration note names
 * what differs between A and B: the QEMU binary, the extra arguments (absent when none) and, for
 * the Linux cases, the kernel they booted when the variant chose one. Nothing outside a variant run.
 */
export function variantVmRecord(v: RunVariant | undefined, kernel?: string): Record<string, string> {
  if (!v) return {};
  return {
    ...(v.qemu ? { qemu: v.qemu } : {}),
    ...(v.extraArgs?.length ? { extra_args: v.extraArgs.join(' ') } : {}),
    ...(kernel !== undefined && v.kernel !== undefined ? { kernel } : {}),
  };
}
