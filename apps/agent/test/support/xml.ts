/** A parsed XML element: enough structure to check a manifest or plist, and nothing more. */
export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

const NAME = /^[A-Za-z_][\w.:-]*/;
const ENTITY = /&(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/g;

function decode(raw: string, where: string): string {
  if (raw.replace(ENTITY, '').includes('&')) throw new Error(`bad entity in ${where}: ${raw}`);
  return raw.replace(
    ENTITY,
    (e) =>
      ({ '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&apos;': "'" })[e] ??
      String.fromCodePoint(Number(e.slice(2, -1).replace(/^x/, '0x'))),
  );
}

/**
 * A strict well-formedness check (prolog, doctype, comments, balanced tags, quoted attributes,
 * valid entities, one root) that throws on the first problem and returns the root element.
 */
export function parseXml(doc: string): XmlElement {
  let i = 0;
  const stack: XmlElement[] = [];
  let root: XmlElement | null = null;
  const fail = (msg: string): never => {
    throw new Error(`${msg} at offset ${i}: ${JSON.stringify(doc.slice(i, i + 40))}`);
  };
  if (doc.startsWith('<?xml')) {
    const end = doc.indexOf('?>');
    if (end < 0) fail('unterminated prolog');
    i = end + 2;
  }
  while (i < doc.length) {
    if (doc.startsWith('<!--', i)) {
      const end = doc.indexOf('-->', i + 4);
      if (end < 0) fail('unterminated comment');
      if (doc.slice(i + 4, end).includes('--')) fail('"--" inside a comment');
      i = end + 3;
    } else if (doc.startsWith('<!DOCTYPE', i)) {
      if (root || stack.length) fail('DOCTYPE after the root element');
      const end = doc.indexOf('>', i);
      if (end < 0 || doc.slice(i, end).includes('[')) fail('unsupported DOCTYPE');
      i = end + 1;
    } else if (doc.startsWith('</', i)) {
      const m = NAME.exec(doc.slice(i + 2));
      const open = stack.pop();
      if (!m || !open || open.name !== m[0]) fail(`closing tag does not match <${open?.name}>`);
      i += 2 + (m as RegExpExecArray)[0].length;
      while (/\s/.test(doc[i] ?? '')) i++;
      if (doc[i] !== '>') fail('expected >');
      i++;
    } else if (doc[i] === '<') {
      const m = NAME.exec(doc.slice(i + 1));
      if (!m) fail('bad element name');
      if (root && stack.length === 0) fail('a second root element');
      const el: XmlElement = { name: (m as RegExpExecArray)[0], attrs: {}, children: [], text: '' };
      i += 1 + el.name.length;
      for (;;) {
        while (/\s/.test(doc[i] ?? '')) i++;
        if (doc.startsWith('/>', i) || doc[i] === '>') break;
        const a = /^([A-Za-z_][\w.:-]*)\s*=\s*("([^"<]*)"|'([^'<]*)')/.exec(doc.slice(i));
        if (!a) fail(`bad attribute in <${el.name}>`);
        const [whole, attr, , dq, sq] = a as RegExpExecArray;
        if ((attr as string) in el.attrs) fail(`duplicate attribute ${attr}`);
        el.attrs[attr as string] = decode((dq ?? sq) as string, `attribute ${attr}`);
        i += whole.length;
      }
      (stack.at(-1)?.children ?? []).push(el);
      root ??= el;
      if (doc.startsWith('/>', i)) i += 2;
      else {
        i++;
        stack.push(el);
      }
    } else {
      const end = doc.indexOf('<', i);
      const raw = doc.slice(i, end < 0 ? doc.length : end);
      if (stack.length === 0 && raw.trim() !== '') fail('text outside the root element');
      const top = stack.at(-1);
      if (top) top.text += decode(raw, `<${top.name}> text`);
      i = end < 0 ? doc.length : end;
    }
  }
  if (stack.length) fail(`unclosed <${stack.at(-1)?.name}>`);
  if (!root) fail('no root element');
  return root as XmlElement;
}

export function findAll(el: XmlElement, name: string): XmlElement[] {
  return [...(el.name === name ? [el] : []), ...el.children.flatMap((c) => findAll(c, name))];
}
