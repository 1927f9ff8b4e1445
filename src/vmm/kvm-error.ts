/**
 * QEMU's report of a guest KVM could no longer run, read from QEMU's stderr:
 *
 *   KVM internal error. Suberror: 1          (KVM_EXIT_INTERNAL_ERROR, kvm_handle_internal_error)
 *   extra data[0]: 0x0000000000000001        (with KVM_CAP_INTERNAL_ERROR_DATA)
 *   emulation failure                        (suberror 1 only)
 *   RAX=... RIP=... CS =0010 ... CS64 ...    (cpu_dump_state, x86 layout)
 *   Code=0f 1f 44 00 00 <f0> 48 0f c7 0e ... (bytes around RIP, RIP's byte in <>)
 *
 *   KVM: entry failed, hardware error 0x7    (VM entry refused by VT-x/AMD-V)
 *
 * After either, QEMU does not exit: it stops the VM (run state `internal-error`) and
 * waits, which is why the launcher must notice and end the case itself. The register
 * dump is kept; the instruction at RIP is decoded where kvmbench knows the opcode.
 */

/** KVM_INTERNAL_ERROR_* suberrors (<linux/kvm.h>). */
export const SUBERRORS: Record<number, string> = {
  1: 'emulation failure: KVM had to emulate a guest instruction and could not',
  2: 'simultaneous exceptions: an exception occurred while delivering another',
  3: 'event delivery: a VM exit happened while an event was being delivered to the guest',
  4: 'unexpected exit reason: the CPU exited for a reason KVM does not handle',
};

export interface KvmFailure {
  kind: 'internal-error' | 'entry-failed';
  suberror?: number;
  /** `hardware error 0x…` of a failed VM entry (VMX exit reason / SVM exit code). */
  hardwareError?: string;
  extraData: bigint[];
  rip?: string;
  /** Bytes at RIP: from KVM's own report of the instruction when given, else QEMU's Code= line. */
  instructionBytes?: number[];
  /** Decoded mnemonic, e.g. `lock cmpxchg16b m128`. */
  instruction?: string;
  /** 64-bit code (CS.L), from the dump. */
  longMode?: boolean;
  /** QEMU could not read guest memory at RIP (`<??>`): RIP is not in guest RAM. */
  ripUnreadable?: boolean;
  /** The stderr lines of the report, for the log and the reason's tail. */
  lines: string[];
}

const INTERNAL = /KVM internal error\. Suberror: (\d+)/;
const ENTRY = /KVM: entry failed, hardware error (0x[0-9a-fA-F]+)/;

/** Where a report starts in QEMU's stderr, or -1. */
export function kvmFailureStart(stderr: string): number {
  const a = stderr.search(INTERNAL);
  const b = stderr.search(ENTRY);
  if (a < 0) return b;
  if (b < 0) return a;
  return Math.min(a, b);
}

/** The report is complete once the register dump's Code= line is in (or nothing more will come). */
export function kvmFailureComplete(stderr: string): boolean {
  const at = kvmFailureStart(stderr);
  return at >= 0 && /^Code=.*$/m.test(stderr.slice(at)) && /\n/.test(stderr.slice(stderr.slice(at).search(/^Code=/m) + at));
}

export function parseKvmFailure(stderr: string): KvmFailure | undefined {
  const at = kvmFailureStart(stderr);
  if (at < 0) return undefined;
  const text = stderr.slice(at);
  const lines = text
    .split('\n')
    .map((l) => l.replace(/\r$/, ''))
    .filter((l) => l.trim())
    .slice(0, 60);
  const f: KvmFailure = { kind: INTERNAL.test(lines[0] ?? '') ? 'internal-error' : 'entry-failed', extraData: [], lines };
  const im = INTERNAL.exec(text);
  if (f.kind === 'internal-error' && im) f.suberror = Number(im[1]);
  const em = ENTRY.exec(text);
  if (f.kind === 'entry-failed' && em) f.hardwareError = em[1]!.toLowerCase();
  for (const m of text.matchAll(/^extra data\[(\d+)\]: 0x([0-9a-fA-F]+)/gm)) f.extraData[Number(m[1])] = BigInt(`0x${m[2]}`);
  const rip = /\bRIP=([0-9a-fA-F]+)/.exec(text) ?? /\bEIP=([0-9a-fA-F]+)/.exec(text);
  if (rip) f.rip = `0x${rip[1]!.toLowerCase().replace(/^0+(?=.)/, '')}`;
  f.longMode = /^CS\s*=.*\bCS64\b/m.test(text) || (rip !== null && rip[1]!.length === 16 && !/^00000000/.test(rip[1]!));
  f.instructionBytes = bytesFromExtraData(f) ?? bytesFromCodeLine(text);
  if (!f.instructionBytes && /^Code=.*<\?\?>/m.test(text)) f.ripUnreadable = true;
  if (f.instructionBytes?.length) {
    const d = decodeInstruction(f.instructionBytes, f.longMode);
    if (d) f.instruction = d;
  }
  return f;
}

/**
 * KVM (Linux 5.16+) puts the failing instruction into the emulation-failure report:
 * data[0] = flags (bit 0: bytes valid), then insn_size and up to 15 bytes packed
 * little-endian from data[1] (struct kvm_run.emulation_failure).
 */
function bytesFromExtraData(f: KvmFailure): number[] | undefined {
  if (f.suberror !== 1 || f.extraData.length < 3) return undefined;
  const flags = f.extraData[0] ?? 0n;
  if ((flags & 1n) === 0n) return undefined;
  const raw: number[] = [];
  for (let w = 1; w <= 2; w++) {
    const v = f.extraData[w] ?? 0n;
    for (let i = 0; i < 8; i++) raw.push(Number((v >> BigInt(8 * i)) & 0xffn));
  }
  const size = raw[0]!;
  if (size < 1 || size > 15) return undefined;
  return raw.slice(1, 1 + size);
}

/** `Code=aa bb <cc> dd ...`: the bytes from RIP on (`??` marks an unreadable byte and ends them). */
function bytesFromCodeLine(text: string): number[] | undefined {
  const m = /^Code=(.*)$/m.exec(text);
  if (!m) return undefined;
  const toks = m[1]!.trim().split(/\s+/);
  const at = toks.findIndex((t) => t.startsWith('<'));
  if (at < 0) return undefined;
  const out: number[] = [];
  for (const t of toks.slice(at)) {
    const h = t.replace(/[<>]/g, '');
    if (!/^[0-9a-fA-F]{2}$/.test(h)) break;
    out.push(parseInt(h, 16));
  }
  return out.length ? out : undefined;
}

const hex = (b: number): string => b.toString(16).padStart(2, '0');

export function formatBytes(bytes: readonly number[], max = 15): string {
  return bytes.slice(0, max).map(hex).join(' ');
}

/** Mnemonics of the two-byte (0f xx) opcodes that matter in VM failures. */
const OP_0F: Record<number, string> = {
  0x05: 'syscall',
  0x06: 'clts',
  0x07: 'sysret',
  0x08: 'invd',
  0x09: 'wbinvd',
  0x0b: 'ud2',
  0x20: 'mov from cr',
  0x21: 'mov from dr',
  0x22: 'mov to cr',
  0x23: 'mov to dr',
  0x30: 'wrmsr',
  0x31: 'rdtsc',
  0x32: 'rdmsr',
  0x33: 'rdpmc',
  0x34: 'sysenter',
  0x35: 'sysexit',
  0xa2: 'cpuid',
  0xb0: 'cmpxchg',
  0xb1: 'cmpxchg',
  0xc0: 'xadd',
  0xc1: 'xadd',
  0xff: 'ud0',
  0x78: 'vmread',
  0x79: 'vmwrite',
  0xa0: 'push fs',
  0xa8: 'push gs',
};

const OP_0F01_REG: Record<number, string> = {
  0xc1: 'vmcall',
  0xc2: 'vmlaunch',
  0xc3: 'vmresume',
  0xc4: 'vmxoff',
  0xc8: 'monitor',
  0xc9: 'mwait',
  0xca: 'clac',
  0xcb: 'stac',
  0xd0: 'xgetbv',
  0xd1: 'xsetbv',
  0xd8: 'vmrun',
  0xd9: 'vmmcall',
  0xda: 'vmload',
  0xdb: 'vmsave',
  0xdc: 'stgi',
  0xdd: 'clgi',
  0xdf: 'invlpga',
  0xf8: 'swapgs',
  0xf9: 'rdtscp',
};
const OP_0F01_MEM = ['sgdt', 'sidt', 'lgdt', 'lidt', 'smsw', undefined, 'lmsw', 'invlpg'];
const OP_0FAE_MEM = ['fxsave', 'fxrstor', 'ldmxcsr', 'stmxcsr', 'xsave', 'xrstor', 'xsaveopt', 'clflush'];
const OP_0FAE_REG = [undefined, undefined, undefined, undefined, undefined, 'lfence', 'mfence', 'sfence'];

const OP_1: Record<number, string> = {
  0xf4: 'hlt',
  0xfa: 'cli',
  0xfb: 'sti',
  0xcf: 'iret',
  0xcc: 'int3',
  0xcd: 'int',
  0xf1: 'int1',
  0xe4: 'in',
  0xe5: 'in',
  0xec: 'in',
  0xed: 'in',
  0xe6: 'out',
  0xe7: 'out',
  0xee: 'out',
  0xef: 'out',
  0x6c: 'insb',
  0x6d: 'ins',
  0x6e: 'outsb',
  0x6f: 'outs',
  0xa4: 'movsb',
  0xa5: 'movs',
  0xaa: 'stosb',
  0xab: 'stos',
  0xac: 'lodsb',
  0xad: 'lods',
  0xa6: 'cmpsb',
  0xa7: 'cmps',
  0xae: 'scasb',
  0xaf: 'scas',
  0x86: 'xchg',
  0x87: 'xchg',
  0x88: 'mov',
  0x89: 'mov',
  0x8a: 'mov',
  0x8b: 'mov',
  0xc6: 'mov',
  0xc7: 'mov',
  0x00: 'add',
  0x01: 'add',
  0x08: 'or',
  0x09: 'or',
  0x20: 'and',
  0x21: 'and',
  0x28: 'sub',
  0x29: 'sub',
  0x30: 'xor',
  0x31: 'xor',
  0x38: 'cmp',
  0x39: 'cmp',
  0x84: 'test',
  0x85: 'test',
  0x90: 'nop',
  0xc3: 'ret',
  0xe8: 'call',
  0xe9: 'jmp',
  0xeb: 'jmp',
};

/**
 * Names the instruction at the start of `bytes` (prefixes, then the opcode) for the
 * opcodes that matter in VM failures. Undefined when kvmbench does not know it: the
 * caller then shows the bytes alone. Not a disassembler: operands are named by kind.
 */
export function decodeInstruction(bytes: readonly number[], longMode = true): string | undefined {
  const prefixes: string[] = [];
  let i = 0;
  let rexW = false;
  let rep: string | undefined;
  for (; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b === 0xf0) prefixes.push('lock');
    else if (b === 0xf3) rep = 'rep';
    else if (b === 0xf2) rep = 'repne';
    else if ([0x66, 0x67, 0x2e, 0x36, 0x3e, 0x26, 0x64, 0x65].includes(b)) continue;
    else break;
  }
  if (longMode && i < bytes.length && (bytes[i]! & 0xf0) === 0x40) {
    rexW = (bytes[i]! & 0x08) !== 0;
    i++;
  }
  const op = bytes[i];
  if (op === undefined) return undefined;
  const pre = (name: string): string =>
    [...prefixes, ...(rep && /^(ins|outs|movs|stos|lods|cmps|scas)/.test(name) ? [rep] : []), name].join(' ');
  if (op !== 0x0f) {
    const name = OP_1[op];
    return name ? pre(name) : undefined;
  }
  const op2 = bytes[i + 1];
  if (op2 === undefined) return undefined;
  const modrm = bytes[i + 2];
  const reg = modrm === undefined ? undefined : (modrm >> 3) & 7;
  const isReg = modrm !== undefined && modrm >> 6 === 3;
  if (op2 === 0x01 && modrm !== undefined) {
    const name = isReg ? OP_0F01_REG[modrm] : OP_0F01_MEM[reg!];
    return name ? pre(name) : undefined;
  }
  if (op2 === 0xc7 && reg !== undefined) {
    if (!isReg && reg === 1) return pre(rexW ? 'cmpxchg16b m128' : 'cmpxchg8b m64');
    if (!isReg && reg === 3) return pre('xrstors');
    if (!isReg && reg === 4) return pre('xsavec');
    if (!isReg && reg === 5) return pre('xsaves');
    if (isReg && reg === 6) return pre('rdrand');
    if (isReg && reg === 7) return pre(rep === 'rep' ? 'rdpid' : 'rdseed');
    return undefined;
  }
  if (op2 === 0xae && reg !== undefined) {
    const name = isReg ? OP_0FAE_REG[reg] : OP_0FAE_MEM[reg];
    return name ? pre(rexW && /^(fxsave|fxrstor|xsave|xrstor|xsaveopt)$/.test(name) ? `${name}64` : name) : undefined;
  }
  const name = OP_0F[op2];
  return name ? pre(name) : undefined;
}

/** One line a person can act on: what failed, where, which instruction. */
export function describeKvmFailure(f: KvmFailure): string {
  const where = f.rip ? ` at RIP ${f.rip}` : '';
  const insn = f.instructionBytes?.length
    ? `: ${f.instruction ? `${f.instruction} (${formatBytes(f.instructionBytes, 8)})` : `instruction bytes ${formatBytes(f.instructionBytes, 8)} (not decoded)`}`
    : f.ripUnreadable
      ? ': no instruction bytes there, RIP is outside guest RAM (the guest jumped into MMIO or unmapped memory)'
      : '';
  if (f.kind === 'entry-failed') {
    return `KVM could not enter the guest (VM entry failed, hardware error ${f.hardwareError ?? '?'})${where}${insn}`;
  }
  const what = f.suberror !== undefined ? (SUBERRORS[f.suberror] ?? `suberror ${f.suberror}`) : 'unknown suberror';
  return `KVM internal error, suberror ${f.suberror ?? '?'} (${what})${where}${insn}`;
}
