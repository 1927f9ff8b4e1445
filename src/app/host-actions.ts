/**
 * The live host as the doctor examines it: the live reader, and the two actions a check may take
 * (src/host/actions.ts): a short-lived QEMU asked over QMP (src/vmm/qemu-query.ts) and a few guest
 * instructions through kvmbench's own VMM (src/kvm/bench.ts). Both are loaded on first use: a
 * plain doctor run on a host without KVM or confidential computing needs neither.
 */
import type { ExaminedHost, HostActions } from '../host/actions.js';
import { liveHost } from '../host/reader.js';

export const liveHostActions: HostActions = {
  async qmpQuery(q) {
    const { queryQemu } = await import('../vmm/qemu-query.js');
    return queryQemu(q);
  },
  async runRawGuest(device) {
    const { rawSmokeRun } = await import('../kvm/bench.js');
    return rawSmokeRun(device);
  },
};

/** This host: one shared live reader (facts are memoized per reader) and the live actions. */
export function liveExaminedHost(): ExaminedHost {
  return { reader: liveHost(), actions: liveHostActions };
}
