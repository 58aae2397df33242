import { existsSync, readdirSync, readFileSync } from 'node:fs';
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

/**
 * The documentation, relative to `root`: README.md, every Markdown file under docs/, and the README of
 * every package (what the npm registry shows) and example.
 */
export function documentationFiles(root: string): string[] {
  const files = ['README.md'];
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(dir, entry.name));
      else if (entry.name.endsWith('.md')) files.push(join(dir, entry.name));
    }
  };
  walk('docs');
  for (const parent of ['packages', 'examples'])
    for (const entry of readdirSync(join(root, parent), { withFileTypes: true }).sort((a, b) =>
      a.name.localeCompare(b.name),
    ))
      if (entry.isDirectory() && existsSync(join(root, parent, entry.name, 'README.md')))
        files.push(join(parent, entry.name, 'README.md'));
  return files.map((file) => relative(root, join(root, file)));
}

/** Every snippet of the documentation. */
export function documentationSnippets(root: string): Snippet[] {
  return documentationFiles(root).flatMap((file) => snippetsOf(file, readFileSync(join(root, file), 'utf8')));
}

/** Text with every run of white space as one space, for comparing code whatever its indentation. */
export function normalizedWords(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** The file and, optionally, the `docs:begin NAME` region a `<!-- snippet: runs-as PATH [NAME] -->` names. */
export function runsAsOf(snippet: Snippet): { path: string; region: string | undefined } | undefined {
  const match = /^runs-as (\S+)(?: (\S+))?$/.exec(snippet.annotation ?? '');
  return match ? { path: match[1]!, region: match[2] } : undefined;
}

/**
 * Why a `runs-as` block is not what the file it names runs, or undefined when it is: the block must be
 * the text between the `docs:begin NAME` and `docs:end NAME` lines of that file when it names a region,
 * and otherwise appear in the file word for word (white space aside), starting and ending on a word
 * boundary.
 */
export function runsAsProblem(root: string, snippet: Snippet): string | undefined {
  const runsAs = runsAsOf(snippet);
  if (!runsAs) return 'not a runs-as block';
  const file = join(root, runsAs.path);
  if (!existsSync(file)) return `${runsAs.path} does not exist`;
  const text = readFileSync(file, 'utf8');
  const block = normalizedWords(snippet.code);
  if (block === '') return 'the block is empty';
  if (runsAs.region) {
    const region = new RegExp(
      `docs:begin ${runsAs.region}[^\\n]*\\n([\\s\\S]*?)\\n[^\\n]*docs:end ${runsAs.region}\\b`,
    ).exec(text)?.[1];
    if (region === undefined) return `${runsAs.path} has no docs:begin ${runsAs.region} … docs:end region`;
    return normalizedWords(region) === block
      ? undefined
      : `differs from the docs:begin ${runsAs.region} region of ${runsAs.path}`;
  }
  return ` ${normalizedWords(text)} `.includes(` ${block} `)
    ? undefined
    : `is not in ${runsAs.path} word for word`;
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
