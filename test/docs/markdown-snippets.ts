import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/** One fenced code block of a Markdown file. */
export interface Snippet {
  /** The file, relative to the repository root. */
  readonly file: string;
  /** The 1-based line of the opening fence. */
  readonly line: number;
  /** The fence's info string (`sh`, `ts`, `json`, or empty). */
  readonly lang: string;
  /** The text of a `<!-- snippet: ... -->` comment on the line before the fence, if any. */
  readonly annotation: string | undefined;
  readonly code: string;
}

const ANNOTATION = /^<!--\s*snippet:\s*(.*?)\s*-->$/;

/** The fenced code blocks of a Markdown text. */
export function snippetsOf(file: string, text: string): Snippet[] {
  const lines = text.split('\n');
  const snippets: Snippet[] = [];
  for (let index = 0; index < lines.length; index++) {
    const open = /^```(\S*)\s*$/.exec(lines[index] ?? '');
    if (!open) continue;
    const start = index;
    const body: string[] = [];
    for (index++; index < lines.length && !/^```\s*$/.test(lines[index] ?? ''); index++)
      body.push(lines[index] ?? '');
    let previous = start - 1;
    while (previous >= 0 && (lines[previous] ?? '').trim() === '') previous--;
    const annotation = ANNOTATION.exec((lines[previous] ?? '').trim())?.[1];
    snippets.push({ file, line: start + 1, lang: open[1] ?? '', annotation, code: body.join('\n') });
  }
  return snippets;
}

/** README.md and every Markdown file under docs/, relative to `root`. */
export function documentationFiles(root: string): string[] {
  const files = ['README.md'];
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(dir, entry.name));
      else if (entry.name.endsWith('.md')) files.push(join(dir, entry.name));
    }
  };
  walk('docs');
  return files.map((file) => relative(root, join(root, file)));
}

/** Every snippet of README.md and docs/. */
export function documentationSnippets(root: string): Snippet[] {
  return documentationFiles(root).flatMap((file) => snippetsOf(file, readFileSync(join(root, file), 'utf8')));
}

/** Shell words of one command line (quotes respected, `$VAR` left as is). */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  const pattern = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g;
  for (const match of line.matchAll(pattern)) words.push(match[1] ?? match[2] ?? match[3] ?? '');
  return words;
}

/** The command lines of a shell block: continuations joined, comments and blank lines dropped. */
export function commandLines(code: string): string[] {
  return code
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((line) => line.replace(/(^|\s)#(?![!{]).*$/, '').trim())
    .filter((line) => line !== '')
    .flatMap((line) => line.split(/\s*(?:&&|\|\||;|\|)\s*/));
}
