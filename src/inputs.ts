/**
 * What a path named on the command line turned out to be, in words for an error message: the
 * rule for every input that names a file or directory of a kind (`doctor --root`, `--kernel`,
 * `report DIR`, ...) is exit 2 with what it must be, what was found instead, and how to make one.
 */
import { closeSync, openSync, readdirSync, readSync, statSync } from 'node:fs';

/** The first `n` bytes of a file (fewer when it is shorter), or undefined when it cannot be read. */
export function fileHead(path: string, n: number): Buffer | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const buf = Buffer.alloc(n);
    const got = readSync(fd, buf, 0, n, 0);
    return buf.subarray(0, got);
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** A kind of file by its first bytes, where it is one people pass by mistake. */
function fileKind(head: Buffer): string | undefined {
  const starts = (...bytes: number[]) => bytes.every((b, i) => head[i] === b);
  if (starts(0x7f, 0x45, 0x4c, 0x46)) return 'an ELF file';
  if (head.length >= 0x206 && head.toString('latin1', 0x202, 0x206) === 'HdrS') return 'a Linux bzImage';
  if (starts(0x1f, 0x8b)) return 'a gzip file';
  if (starts(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00)) return 'an xz file';
  if (starts(0x28, 0xb5, 0x2f, 0xfd)) return 'a zstd file';
  if (head.toString('latin1', 0, 6) === '070701') return 'a cpio archive (an initramfs?)';
  if (head.toString('latin1', 0, 8) === '!<arch>\n') return 'an ar archive (a .deb package?)';
  if (head.toString('latin1', 257, 262) === 'ustar') return 'a tar archive';
  return undefined;
}

/** What is at `path`, e.g. "an empty directory", "a text file beginning 'root:x:0:0:root'". */
export function describeFound(path: string): string {
  let st;
  try {
    st = statSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? 'nothing (no such file or directory)' : `nothing readable (${code ?? (err as Error).message})`;
  }
  if (st.isDirectory()) {
    let entries: string[];
    try {
      entries = readdirSync(path).sort();
    } catch (err) {
      return `a directory that cannot be listed (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
    }
    if (entries.length === 0) return 'an empty directory';
    const shown = entries.slice(0, 5).join(', ');
    return `a directory holding ${entries.length === 1 ? '1 entry' : `${entries.length} entries`} (${shown}${entries.length > 5 ? ', …' : ''})`;
  }
  if (!st.isFile()) {
    const what = st.isCharacterDevice()
      ? 'a character device'
      : st.isBlockDevice()
        ? 'a block device'
        : st.isFIFO()
          ? 'a named pipe'
          : st.isSocket()
            ? 'a socket'
            : 'not a regular file';
    return what;
  }
  if (st.size === 0) return 'an empty file';
  const head = fileHead(path, 1024);
  if (!head) return `a file of ${st.size} bytes that cannot be read`;
  const kind = fileKind(head);
  if (kind) return `${kind} of ${st.size} bytes`;
  const text = head.toString('utf8');
  // Text: no control bytes but tab, line feed, form feed and carriage return, and valid UTF-8.
  const binary = head.some((b) => b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0c && b !== 0x0d) || text.includes('\ufffd');
  if (!binary) {
    const first = text.trim().split('\n')[0]!.slice(0, 40);
    return `a text file of ${st.size} bytes beginning '${first}'`;
  }
  return `a binary file of ${st.size} bytes`;
}
