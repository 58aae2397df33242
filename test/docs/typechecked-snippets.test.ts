// The short API examples of the package READMEs (what the npm registry shows) and of docs/ compile as
// written: every block annotated `<!-- snippet: typechecked -->` is a module of one TypeScript program,
// checked under the project's strict options against the BUILT declarations (dist/*.d.ts, as an
// application that installed the packages sees them). Names a block uses without
// defining them are declared by the annotation: `typechecked (given pan: string; payload: Uint8Array)`.
import { dirname, join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { repositoryRoot } from '../support/softhsm2-tokens.js';
import { documentationSnippets, type Snippet } from './markdown-snippets.js';

const ANNOTATION = /^typechecked(?: \(given (.+)\))?$/;

/** `a: T; b: { c: U; d: V }` → the declarations, split on the `;` outside brackets. */
function givenDeclarations(given: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const char of given) {
    if ('([{<'.includes(char)) depth++;
    if (')]}>'.includes(char)) depth--;
    if (char === ';' && depth === 0) {
      parts.push(current.trim());
      current = '';
    } else current += char;
  }
  if (current.trim() !== '') parts.push(current.trim());
  return parts.map((part) => `declare const ${part};`);
}

interface Module {
  readonly snippet: Snippet;
  readonly path: string;
  readonly text: string;
  /** Lines before the block's first line in the module. */
  readonly header: number;
}

/**
 * Where a block's module is, so that its imports resolve as they would for an application: beside a
 * package's README (its dependencies, and the package itself by name), and for README.md and docs/ in the
 * command's package, which depends on every library package.
 */
function directoryOf(snippet: Snippet): string {
  return snippet.file.startsWith('packages/') ? dirname(snippet.file) : 'packages/cli';
}

function moduleOf(snippet: Snippet, index: number): Module {
  const given = ANNOTATION.exec(snippet.annotation ?? '')?.[1];
  const header = ['export {};', ...(given ? givenDeclarations(given) : [])];
  return {
    snippet,
    path: join(repositoryRoot, directoryOf(snippet), `__snippet_${index}.mts`),
    text: `${header.join('\n')}\n${snippet.code}\n`,
    header: header.length,
  };
}

/** The diagnostics of the modules, each as `README:line: message`, from one program. */
function typecheck(modules: readonly Module[]): string[] {
  const base = ts.parseJsonConfigFileContent(
    ts.readConfigFile(join(repositoryRoot, 'tsconfig.base.json'), ts.sys.readFile).config,
    ts.sys,
    repositoryRoot,
  ).options;
  const options: ts.CompilerOptions = {
    ...base,
    // Without the `source` condition the packages resolve to their built declarations.
    customConditions: [],
    noEmit: true,
    declaration: false,
    sourceMap: false,
    // A short example may name a result it does not use.
    noUnusedLocals: false,
    noUnusedParameters: false,
  };
  const byPath = new Map(modules.map((module) => [module.path, module]));
  const host = ts.createCompilerHost(options);
  const { fileExists, readFile, getSourceFile } = host;
  host.fileExists = (file) => byPath.has(file) || fileExists.call(host, file);
  host.readFile = (file) => byPath.get(file)?.text ?? readFile.call(host, file);
  host.getSourceFile = (file, language, onError, create) => {
    const module = byPath.get(file);
    return module
      ? ts.createSourceFile(file, module.text, language, true)
      : getSourceFile.call(host, file, language, onError, create);
  };
  const program = ts.createProgram({ rootNames: [...byPath.keys()], options, host });
  const problems: string[] = [];
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    const module = diagnostic.file ? byPath.get(diagnostic.file.fileName) : undefined;
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
    if (!module) {
      problems.push(`(program) ${message}`);
      continue;
    }
    const { line } = diagnostic.file!.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
    problems.push(`${module.snippet.file}:${module.snippet.line + 1 + line - module.header}: ${message}`);
  }
  return problems;
}

const blocks = documentationSnippets(repositoryRoot).filter((snippet) =>
  ANNOTATION.test(snippet.annotation ?? ''),
);

describe('typechecked snippets', () => {
  it('every package README with a TypeScript example has it typechecked or run', () => {
    const readmes = new Set(blocks.map((snippet) => snippet.file));
    expect(readmes.size).toBeGreaterThanOrEqual(8);
  });

  it('every typechecked block compiles under strict TypeScript against the built packages', () => {
    const broken: Snippet = {
      file: 'packages/core/README.md',
      line: 1,
      lang: 'ts',
      annotation: 'typechecked (given pan: string)',
      code: "import { Keyswitch } from '@keyswitch/core';\nconst n: number = pan;\nKeyswitch.noSuchMethod();",
    };
    const modules = [...blocks, broken].map(moduleOf);
    const problems = typecheck(modules);
    // The check itself: a wrong type and an unknown method in a block are found, on the README's lines.
    expect(problems.filter((problem) => problem.startsWith('packages/core/README.md:3:'))).toHaveLength(1);
    expect(problems.filter((problem) => problem.startsWith('packages/core/README.md:4:'))).toHaveLength(1);
    expect(
      problems.filter(
        (problem) =>
          !problem.startsWith('packages/core/README.md:3:') &&
          !problem.startsWith('packages/core/README.md:4:'),
      ),
    ).toEqual([]);
  }, 120_000);
});
