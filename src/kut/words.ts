/**
 * Splits a cfg value into words the way a POSIX shell would for plain text (blanks separate
 * words; '...' is literal; "..." keeps blanks and takes \" \\ \$ \` escapes; a backslash
 * outside quotes escapes the next character), and refuses everything that needs a shell to
 * mean anything: command substitution (`...`, $(...)), variables ($X, ${X}), globs, pipes,
 * redirections, `;` and `&`. kvm-unit-tests `eval`s these values; kvmbench never runs a shell
 * with them, so such a stanza is skipped with the construct named instead of guessed at.
 */

export type Words = { ok: true; words: string[] } | { ok: false; reason: string };

const SHELL_ONLY: Record<string, string> = {
  '`': 'command substitution (`...`)',
  $: 'a shell expansion ($...)',
  '|': 'a pipe (|)',
  ';': 'a command separator (;)',
  '&': 'a background or && operator (&)',
  '<': 'a redirection (<)',
  '>': 'a redirection (>)',
  '(': 'a subshell (()',
  ')': 'a subshell ())',
  '*': 'a glob (*)',
  '?': 'a glob (?)',
  '[': 'a glob ([)',
};

export function splitWords(text: string): Words {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let i = 0;
  const n = text.length;
  const refuse = (ch: string): Words => ({ ok: false, reason: `uses ${SHELL_ONLY[ch] ?? ch}, which needs a shell` });
  while (i < n) {
    const ch = text[i]!;
    if (ch === ' ' || ch === '\t' || ch === '\n') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      i++;
      continue;
    }
    inWord = true;
    if (ch === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) return { ok: false, reason: 'an unterminated single quote' };
      word += text.slice(i + 1, end);
      i = end + 1;
      continue;
    }
    if (ch === '"') {
      i++;
      for (;;) {
        if (i >= n) return { ok: false, reason: 'an unterminated double quote' };
        const c = text[i]!;
        if (c === '"') break;
        if (c === '`' || c === '$') return refuse(c);
        if (c === '\\' && i + 1 < n && '"\\$`'.includes(text[i + 1]!)) {
          word += text[i + 1];
          i += 2;
          continue;
        }
        word += c;
        i++;
      }
      i++;
      continue;
    }
    if (ch === '\\') {
      if (i + 1 >= n) return { ok: false, reason: 'a trailing backslash' };
      word += text[i + 1];
      i += 2;
      continue;
    }
    if (ch in SHELL_ONLY) return refuse(ch);
    // A leading ~ would be the home directory in a shell.
    if (ch === '~' && word === '') return { ok: false, reason: 'uses ~ (the home directory), which needs a shell' };
    word += ch;
    i++;
  }
  if (inWord) words.push(word);
  return { ok: true, words };
}
