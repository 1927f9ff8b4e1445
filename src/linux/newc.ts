/**
 * A writer for the cpio "newc" format (the one the Linux kernel unpacks as an
 * initramfs, see the kernel's Documentation/driver-api/early-userspace). Written
 * here so the image build needs no `cpio` package, and deterministic (mtime 0,
 * inode numbers in insertion order) so equal contents give equal hashes.
 */

export type NewcEntry =
  | { type: 'dir'; path: string; mode?: number }
  | { type: 'file'; path: string; data: Uint8Array; mode?: number }
  | { type: 'symlink'; path: string; target: string }
  | { type: 'chardev'; path: string; major: number; minor: number; mode?: number };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;

function hex8(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`newc: field out of range: ${n}`);
  return n.toString(16).padStart(8, '0');
}

function pad4(len: number): number {
  return (4 - (len % 4)) % 4;
}

function normalize(path: string): string {
  const p = path.replace(/^\/+/, '').replace(/\/+$/, '');
  if (p === '' || p.split('/').some((s) => s === '..' || s === '.' || s === '')) throw new Error(`newc: bad path: ${path}`);
  return p;
}

function header(
  ino: number,
  mode: number,
  nlink: number,
  size: number,
  rdevMajor: number,
  rdevMinor: number,
  nameSize: number,
): string {
  // magic, ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor, rdevminor, namesize, check
  return '070701' + [ino, mode, 0, 0, nlink, 0, size, 0, 0, rdevMajor, rdevMinor, nameSize, 0].map(hex8).join('');
}

/** Serialises entries in order, creating missing parent directories first; ends with the trailer. */
export function writeNewc(entries: readonly NewcEntry[]): Buffer {
  const parts: Buffer[] = [];
  const seen = new Set<string>();
  let ino = 1;
  const emit = (name: string, mode: number, nlink: number, data: Uint8Array, rdev: [number, number] = [0, 0]): void => {
    const nameBuf = Buffer.from(name + '\0', 'utf8');
    const hdr = Buffer.from(
      header(name === 'TRAILER!!!' ? 0 : ino++, mode, nlink, data.length, rdev[0], rdev[1], nameBuf.length),
      'ascii',
    );
    parts.push(hdr, nameBuf, Buffer.alloc(pad4(hdr.length + nameBuf.length)));
    if (data.length > 0) parts.push(Buffer.from(data.buffer, data.byteOffset, data.length), Buffer.alloc(pad4(data.length)));
  };
  const ensureParents = (p: string): void => {
    const segs = p.split('/');
    for (let i = 1; i < segs.length; i++) {
      const dir = segs.slice(0, i).join('/');
      if (!seen.has(dir)) {
        seen.add(dir);
        emit(dir, S_IFDIR | 0o755, 2, new Uint8Array());
      }
    }
  };
  for (const e of entries) {
    const p = normalize(e.path);
    if (seen.has(p)) {
      if (e.type === 'dir') continue;
      throw new Error(`newc: duplicate path: ${p}`);
    }
    ensureParents(p);
    seen.add(p);
    switch (e.type) {
      case 'dir':
        emit(p, S_IFDIR | (e.mode ?? 0o755), 2, new Uint8Array());
        break;
      case 'file':
        emit(p, S_IFREG | (e.mode ?? 0o644), 1, e.data);
        break;
      case 'symlink':
        emit(p, S_IFLNK | 0o777, 1, Buffer.from(e.target, 'utf8'));
        break;
      case 'chardev':
        emit(p, S_IFCHR | (e.mode ?? 0o600), 1, new Uint8Array(), [e.major, e.minor]);
        break;
    }
  }
  emit('TRAILER!!!', 0, 1, new Uint8Array());
  return Buffer.concat(parts);
}
