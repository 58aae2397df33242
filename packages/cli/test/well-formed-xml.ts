/** One element of a parsed XML document. */
export interface XmlElement {
  readonly name: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly children: XmlElement[];
  text: string;
}

const ENTITY = /&(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/g;

function unescapeXml(text: string, where: string): string {
  if (text.replace(ENTITY, '').includes('&')) throw new Error(`a bare & in ${where}`);
  if (text.includes('<')) throw new Error(`a bare < in ${where}`);
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}

/**
 * A strict little XML parser for the tests: one root element, balanced tags, quoted attributes that
 * appear once, escaped text. Enough to prove a JUnit report is well-formed and to read its structure.
 *
 * @throws Error naming the first problem
 */
export function parseXml(xml: string): XmlElement {
  let rest = xml.replace(/^\uFEFF?<\?xml[^?]*\?>\s*/, '');
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  const tag = /^<(\/?)([A-Za-z_][\w.:-]*)((?:\s+[A-Za-z_][\w.:-]*\s*=\s*"[^"]*")*)\s*(\/?)>/;
  while (rest.length > 0) {
    if (rest.startsWith('<!--')) {
      const end = rest.indexOf('-->');
      if (end === -1) throw new Error('an unclosed comment');
      rest = rest.slice(end + 3);
      continue;
    }
    if (rest.startsWith('<')) {
      const match = tag.exec(rest);
      if (!match) throw new Error(`a malformed tag at ${JSON.stringify(rest.slice(0, 40))}`);
      const [whole, closing, name, attributeText, selfClosing] = match;
      rest = rest.slice(whole.length);
      if (closing) {
        const open = stack.pop();
        if (open?.name !== name) throw new Error(`</${name}> closes <${open?.name ?? 'nothing'}>`);
        continue;
      }
      const attributes: Record<string, string> = {};
      for (const attribute of (attributeText ?? '').matchAll(/([A-Za-z_][\w.:-]*)\s*=\s*"([^"]*)"/g)) {
        if (Object.hasOwn(attributes, attribute[1]!))
          throw new Error(`attribute ${attribute[1]} twice on <${name}>`);
        attributes[attribute[1]!] = unescapeXml(attribute[2]!, `an attribute of <${name}>`);
      }
      const element: XmlElement = { name: name!, attributes, children: [], text: '' };
      const parent = stack.at(-1);
      if (parent) parent.children.push(element);
      else if (root) throw new Error('more than one root element');
      else root = element;
      if (!selfClosing) stack.push(element);
      continue;
    }
    const next = rest.indexOf('<');
    const text = next === -1 ? rest : rest.slice(0, next);
    rest = next === -1 ? '' : rest.slice(next);
    const parent = stack.at(-1);
    if (!parent) {
      if (text.trim()) throw new Error('text outside the root element');
      continue;
    }
    parent.text += unescapeXml(text, `<${parent.name}>`);
  }
  if (stack.length) throw new Error(`<${stack.at(-1)!.name}> is not closed`);
  if (!root) throw new Error('no root element');
  return root;
}
