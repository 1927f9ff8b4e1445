/**
 * Redaction of a recorded host tree before it leaves the machine (`doctor --save-host`).
 *
 * What goes: the host's names (the hostname files, and every whole-word occurrence of the
 * name elsewhere), the user's name (other than root: in the identity, in home-directory paths
 * and as a whole word in any text), IPv4 and IPv6 addresses (loopback and unspecified stay), MAC addresses, UUIDs (DMI product UUID, filesystem UUIDs on the command
 * line), serial numbers (DMI serials and asset tags, `serial...: X` in any text), the AMD
 * Secure Processor's chip id and certificates in QEMU's `query-sev-capabilities` answer,
 * /etc/group entries other than the groups the doctor names (the owners of the device
 * nodes it examined, and `kvm`), with their member lists, and kernel log lines the doctor
 * does not read (it keeps only RELEVANT_LOG lines itself). What stays is what the checks
 * judge, so a replay of the snapshot gives the same verdicts.
 */
import { RELEVANT_LOG } from './facts.js';
import type { FixtureCommand, FixtureQmp, RecordedHost } from './snapshot-format.js';

export interface RedactOptions {
  /** This host's names (hostname, FQDN, short name); each whole-word occurrence is replaced. */
  hostnames: string[];
  /** User names to replace (the recorded identity's, unless root). */
  users?: string[];
}

/** Recorded in a snapshot's host.json. */
export const REDACTED_ITEMS = [
  'hostname',
  'user name',
  'IP addresses',
  'MAC addresses',
  'UUIDs',
  'serial numbers and asset tags',
  'SEV chip id and certificates',
  '/etc/group entries the doctor does not name, and all member lists',
  'kernel log lines the doctor does not read',
];

export const REDACTED_HOSTNAME = 'redacted-host';
export const REDACTED_USER = 'redacted-user';
const REDACTED = 'redacted';
const HOSTNAME_FILES = new Set(['/proc/sys/kernel/hostname', '/etc/hostname', '/proc/sys/kernel/domainname']);
const DMI_PRIVATE = new Set([
  'product_serial',
  'board_serial',
  'chassis_serial',
  'product_uuid',
  'board_asset_tag',
  'chassis_asset_tag',
]);
const MAC = /\b[0-9a-f]{2}(?::[0-9a-f]{2}){5}\b/gi;
const UUID = /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi;
/** IPv4 with octets ≤ 255, not inside a longer dotted run (versions such as 6.1.0.12.3 stay). */
const IPV4 = /(?<![\d.])(?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3}(?![\d.]*\d)/g;
/** IPv6: a `::` form or eight full groups (times like 12:34:56 are neither). */
const IPV6 =
  /(?<![0-9a-f:.])(?:(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}|(?:[0-9a-f]{1,4}:){1,7}:(?:[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){0,6})?|::(?:[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){0,6}))(?![0-9a-f:.])/gi;
const KEEP_IP = new Set(['127.0.0.1', '0.0.0.0', '::1', '::']);
const SERIAL = /\b(serial(?:[ _-]?(?:number|no))?|serialnumber)(\s*[:=]\s*)[^\s,;]+/gi;
/** QMP answer fields that identify the machine (query-sev-capabilities). */
const QMP_PRIVATE = new Set(['cpu0-id', 'pdh', 'cert-chain']);

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The names to look for: each given name, and the short form of a dotted one. */
function hostnameRes(names: string[]): RegExp[] {
  const all = new Set<string>();
  for (const n of names.map((x) => x.trim()).filter(Boolean)) {
    all.add(n);
    all.add(n.split('.')[0]!);
  }
  // Longest first, so an FQDN goes as a whole before its short name is looked for.
  return [...all]
    .filter((n) => n !== 'localhost')
    .sort((a, b) => b.length - a.length)
    .map((n) => new RegExp(`(?<![A-Za-z0-9_])${escapeRe(n)}(?![A-Za-z0-9_])`, 'g'));
}

export function redactText(text: string, opts: RedactOptions): string {
  let t = text;
  for (const re of hostnameRes(opts.hostnames)) t = t.replace(re, REDACTED_HOSTNAME);
  for (const u of (opts.users ?? []).filter((x) => x && x !== 'root')) {
    t = t.replace(new RegExp(`(?<![A-Za-z0-9_.-])${escapeRe(u)}(?![A-Za-z0-9_-])`, 'g'), REDACTED_USER);
  }
  return t
    .replace(MAC, 'xx:xx:xx:xx:xx:xx')
    .replace(IPV4, (ip) => (KEEP_IP.has(ip) ? ip : '192.0.2.0'))
    .replace(IPV6, (ip) => (KEEP_IP.has(ip) || ip.split(':').filter(Boolean).length < 2 || !/\d/.test(ip) ? ip : '2001:db8::'))
    .replace(UUID, '00000000-0000-0000-0000-000000000000')
    .replace(SERIAL, `$1$2${REDACTED}`);
}

/** /etc/group with only the named groups, members dropped (the doctor reads names and gids only). */
export function redactGroupFile(text: string, keepGids: ReadonlySet<number>, keepNames: ReadonlySet<string>): string {
  const kept = text
    .split('\n')
    .filter((line) => {
      const [name, , gid] = line.split(':');
      return name !== undefined && gid !== undefined && (keepNames.has(name) || keepGids.has(Number(gid)));
    })
    .map((line) => line.split(':').slice(0, 3).concat('').join(':'));
  return kept.length ? `${kept.join('\n')}\n` : '';
}

function isText(b: Buffer): boolean {
  return !b.includes(0) && Buffer.from(b.toString('utf8'), 'utf8').equals(b);
}

function redactValue(v: unknown, opts: RedactOptions): unknown {
  if (typeof v === 'string') return redactText(v, opts);
  if (Array.isArray(v)) return v.map((x) => redactValue(x, opts));
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, QMP_PRIVATE.has(k) ? REDACTED : redactValue(x, opts)]));
  }
  return v;
}

/** A redacted copy of what a RecordingHostReader (src/host/snapshot-record.ts) holds; the recording itself is unchanged. */
export function redactSnapshot(rec: RecordedHost, opts: RedactOptions): RecordedHost {
  const names = [...opts.hostnames];
  const recordedName = rec.files.get('/proc/sys/kernel/hostname')?.toString('utf8').trim();
  if (recordedName) names.push(recordedName);
  const user = rec.ident?.user;
  const users = user && user !== 'root' ? [user] : [];
  const o: RedactOptions = { hostnames: names, users };

  // The groups the doctor names: owners of the device nodes it examined, and kvm.
  const keepGids = new Set<number>();
  for (const s of rec.stats.values()) if (s.type === 'char' || s.type === 'block') keepGids.add(s.gid);
  const keepNames = new Set(['kvm']);

  const files = new Map<string, Buffer>();
  for (const [p, b] of rec.files) {
    if (HOSTNAME_FILES.has(p)) files.set(p, Buffer.from(`${REDACTED_HOSTNAME}\n`));
    else if (p.startsWith('/sys/class/dmi/id/') && DMI_PRIVATE.has(p.slice('/sys/class/dmi/id/'.length)))
      files.set(p, Buffer.from(`${REDACTED}\n`));
    else if (p === '/etc/group') files.set(p, Buffer.from(redactGroupFile(b.toString('utf8'), keepGids, keepNames)));
    else files.set(p, isText(b) ? Buffer.from(redactText(b.toString('utf8'), o)) : b);
  }

  const commands = new Map<string, FixtureCommand>();
  for (const [k, c] of rec.commands) {
    let stdout = c.stdout ?? '';
    // The doctor reads only the relevant kernel log lines; the rest (devices, networks, users) stays home.
    if (k === 'dmesg')
      stdout =
        stdout
          .split('\n')
          .filter((l) => RELEVANT_LOG.test(l))
          .join('\n') + (stdout ? '\n' : '');
    commands.set(k, {
      ...c,
      stdout: redactText(stdout, o),
      ...(c.stderr !== undefined ? { stderr: redactText(c.stderr, o) } : {}),
    });
  }

  const qmps = new Map<string, FixtureQmp>();
  for (const [k, a] of rec.qmps) qmps.set(k, redactValue(a, o) as FixtureQmp);

  // Paths and directory listings stay as read: they are the tree's structure, and the doctor
  // reads none that name the host (a renamed entry would no longer match its file).
  const ident =
    rec.ident && users.length
      ? {
          ...rec.ident,
          user: REDACTED_USER,
          env: Object.fromEntries(Object.entries(rec.ident.env).map(([k, v]) => [k, redactText(v, o)])),
        }
      : rec.ident;
  return { ...rec, files, commands, qmps, ...(ident ? { ident } : {}) };
}
