/** Where a command's rendered view goes: a file named by --output (a line on stderr says so), else stdout. */
import { writeFile } from 'node:fs/promises';

export async function writeView(text: string, output?: string): Promise<void> {
  if (output) {
    await writeFile(output, text, 'utf8');
    process.stderr.write(`kvmbench: wrote ${output}\n`);
  } else {
    process.stdout.write(text);
  }
}
