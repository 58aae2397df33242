/** Where a JSON text breaks the grammar (RFC 8259), described without quoting any of it. */
export interface JsonSyntaxProblem {
  /** Offset (UTF-16 code units) of the first character that does not fit. */
  readonly offset: number;
  /** The JSON path of the value being read there (empty at the root). */
  readonly path: readonly (string | number)[];
  /** What the grammar expected, in words; never the text found. */
  readonly expected: string;
}

/** A position in a text, both 1-based. */
export interface TextPosition {
  readonly line: number;
  readonly column: number;
}

interface Frame {
  readonly kind: 'object' | 'array';
  /** The key (object) or index (array) of the member being read. */
  member: string | number;
  /**
   * Whether the member may be named in a problem's path: an index, or a key that looks like a name and
   * was followed by its colon. In a broken file a "key" may be text swallowed by a stray quote (a secret,
   * even), so anything else ends the path there.
   */
  shown: boolean;
  readonly keys: Set<string>;
}

const HEX4 = /[0-9a-fA-F]{4}/y;
/** A property name that may appear in a syntax problem's path. */
const NAME_LIKE = /^[A-Za-z0-9_$][A-Za-z0-9._$-]{0,127}$/;

/**
 * Reads a JSON text with its own tokenizer (never the platform parser's message) and reports the first
 * place it breaks the grammar, or a property listed twice in one object (JSON readers disagree on which
 * copy counts). `onValue` is told the path and offset of every value, for locating schema problems.
 * Iterative, so deep nesting cannot overflow the stack; linear in the text's length.
 *
 * @example
 * ```ts
 * const problem = scanJson('{ "pin": 1234x }');
 * // { offset: 13, path: ['pin'], expected: '"," or "}" after a property' }
 * ```
 */
export function scanJson(
  text: string,
  onValue?: (path: readonly (string | number)[], offset: number) => void,
): JsonSyntaxProblem | undefined {
  const stack: Frame[] = [];
  const path = (): (string | number)[] => stack.map((frame) => frame.member);
  let pos = 0;
  const skipSpace = () => {
    for (;;) {
      const c = text.charCodeAt(pos);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) pos++;
      else return;
    }
  };
  const shownPath = (): (string | number)[] => {
    const cut = stack.findIndex((frame) => !frame.shown);
    return (cut === -1 ? stack : stack.slice(0, cut)).map((frame) => frame.member);
  };
  const problem = (expected: string, at = pos): JsonSyntaxProblem => ({
    offset: at,
    path: shownPath(),
    expected,
  });
  /** Reads a string starting at `pos` (a quote); returns a problem, or advances `pos` past it. */
  const readString = (): JsonSyntaxProblem | undefined => {
    pos++;
    for (;;) {
      // Plain characters: anything but a quote, a backslash or a control character.
      for (let c = text.charCodeAt(pos); c >= 0x20 && c !== 0x22 && c !== 0x5c; c = text.charCodeAt(++pos));
      if (pos >= text.length) return problem('a closing quote: the file ends inside a string');
      const c = text[pos];
      if (c === '"') {
        pos++;
        return undefined;
      }
      if (c === '\\') {
        const escaped = text[pos + 1];
        if (escaped === 'u') {
          HEX4.lastIndex = pos + 2;
          if (!HEX4.test(text)) return problem('four hex digits after \\u in a string', pos + 1);
          pos += 6;
        } else if (escaped !== undefined && '"\\/bfnrt'.includes(escaped)) {
          pos += 2;
        } else {
          return problem('a valid escape (\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX) in a string', pos + 1);
        }
        continue;
      }
      return problem('no control character (such as a line break) inside a string');
    }
  };

  const digits = (): boolean => {
    const start = pos;
    while (text.charCodeAt(pos) >= 0x30 && text.charCodeAt(pos) <= 0x39) pos++;
    return pos > start;
  };
  /** Reads a number at `pos` (RFC 8259: -?int frac? exp?); returns a problem at the first wrong character. */
  const readNumber = (): JsonSyntaxProblem | undefined => {
    if (text[pos] === '-') pos++;
    if (text[pos] === '0') pos++;
    else if (!digits()) return problem('a digit in a number');
    if (text[pos] === '.') {
      pos++;
      if (!digits()) return problem('a digit after the decimal point');
    }
    if (text[pos] === 'e' || text[pos] === 'E') {
      pos++;
      if (text[pos] === '+' || text[pos] === '-') pos++;
      if (!digits()) return problem('a digit in the exponent');
    }
    return undefined;
  };

  /** Reads `"name":` into the frame; leaves `pos` at the value. */
  const readKey = (frame: Frame): JsonSyntaxProblem | undefined => {
    skipSpace();
    if (text[pos] !== '"') {
      // Before a name is read, the problem is the object's own.
      frame.shown = false;
      return {
        offset: pos,
        path: shownPath(),
        expected:
          pos >= text.length
            ? 'a property name: the file ends inside an object'
            : 'a property name in double quotes',
      };
    }
    const start = pos;
    frame.shown = false;
    const bad = readString();
    if (bad) return bad;
    const key = JSON.parse(text.slice(start, pos)) as string;
    frame.member = key;
    if (frame.keys.has(key)) {
      frame.shown = NAME_LIKE.test(key); // a name seen before with its colon
      return problem('each property once in an object: this one is repeated', start);
    }
    frame.keys.add(key);
    skipSpace();
    if (text[pos] !== ':') return problem('":" after a property name');
    pos++;
    frame.shown = NAME_LIKE.test(key);
    return undefined;
  };

  let expectValue = true;
  for (;;) {
    if (expectValue) {
      skipSpace();
      onValue?.(path(), pos);
      const c = text[pos];
      if (c === '{' || c === '[') {
        const kind = c === '{' ? 'object' : 'array';
        pos++;
        skipSpace();
        if (text[pos] === (kind === 'object' ? '}' : ']')) {
          pos++;
          expectValue = false;
          continue;
        }
        const opened: Frame = { kind, member: 0, shown: kind === 'array', keys: new Set() };
        stack.push(opened);
        if (kind === 'object') {
          const key = readKey(opened);
          if (key) return key;
        }
        continue;
      }
      if (c === '"') {
        const bad = readString();
        if (bad) return bad;
      } else if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) {
        const bad = readNumber();
        if (bad) return bad;
      } else if (text.startsWith('true', pos)) pos += 4;
      else if (text.startsWith('false', pos)) pos += 5;
      else if (text.startsWith('null', pos)) pos += 4;
      else if (pos >= text.length) return problem('a value: the file ends where a value belongs');
      else {
        return problem('a value: an object, array, "string" in double quotes, number, true, false or null');
      }
      expectValue = false;
      continue;
    }
    // After a value: the end of the text, or what may follow inside the enclosing object or array.
    skipSpace();
    const frame = stack.at(-1);
    if (!frame) {
      return pos === text.length ? undefined : problem('the end of the file after the top-level value');
    }
    const c = text[pos];
    const close = frame.kind === 'object' ? '}' : ']';
    if (c === close) {
      stack.pop();
      pos++;
      continue;
    }
    if (c !== ',') {
      return problem(
        pos >= text.length
          ? `"${close}": the file ends inside ${frame.kind === 'object' ? 'an object' : 'an array'}`
          : `"," or "${close}" after ${frame.kind === 'object' ? 'a property' : 'an array element'}`,
      );
    }
    pos++;
    if (frame.kind === 'array') {
      frame.member = (frame.member as number) + 1;
      expectValue = true;
    } else {
      const key = readKey(frame);
      if (key) return key;
      expectValue = true;
    }
  }
}

/**
 * The 1-based line and column of an offset in a text (lines end at `\n`; a `\r` before it counts as a
 * column).
 *
 * @example
 * ```ts
 * positionOf('{\n  "pin": x\n}', 11); // { line: 2, column: 10 }
 * ```
 */
export function positionOf(text: string, offset: number): TextPosition {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(offset, text.length);
  for (let i = text.indexOf('\n'); i !== -1 && i < end; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: end - lineStart + 1 };
}
