/**
 * A small well-formedness check for the XML this folder writes: tags balance,
 * attributes are quoted and unique, and text and attribute values hold no raw
 * `<` or stray `&`. Returns the first problem, or undefined.
 */

const NAME = '[A-Za-z_:][-A-Za-z0-9_:.]*';
const ENTITY = /&(?:amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);/g;
const TAG = new RegExp(`^<(/?)(${NAME})((?:\\s+${NAME}\\s*=\\s*(?:"[^"<]*"|'[^'<]*'))*)\\s*(/?)>$`);
const ATTRIBUTE = new RegExp(`(${NAME})\\s*=\\s*(?:"([^"]*)"|'([^']*)')`, 'g');

const badAmpersand = (text: string): boolean => text.replace(ENTITY, '').includes('&');

export const xmlProblem = (xml: string): string | undefined => {
  const stack: string[] = [];
  let position = 0;
  let roots = 0;
  while (position < xml.length) {
    const open = xml.indexOf('<', position);
    const text = xml.slice(position, open === -1 ? xml.length : open);
    if (badAmpersand(text)) return `unescaped & in text near ${JSON.stringify(text.slice(0, 40))}`;
    if (text.includes('>')) return `raw > in text near ${JSON.stringify(text.slice(0, 40))}`;
    if (stack.length === 0 && text.trim() !== '') return 'text outside the root element';
    if (open === -1) break;
    const close = xml.indexOf('>', open);
    if (close === -1) return `unterminated tag at ${open}`;
    const tag = xml.slice(open, close + 1);
    const match = TAG.exec(tag);
    if (!match) return `malformed tag ${JSON.stringify(tag.slice(0, 60))}`;
    const [, slash, name, attributes = '', selfClosing] = match;
    const seen = new Set<string>();
    for (const attribute of attributes.matchAll(ATTRIBUTE)) {
      if (seen.has(attribute[1]!)) return `duplicate attribute ${attribute[1]} in <${name}>`;
      seen.add(attribute[1]!);
      if (badAmpersand(attribute[2] ?? attribute[3] ?? '')) return `unescaped & in attribute ${attribute[1]} of <${name}>`;
    }
    if (slash) {
      if (attributes.trim() !== '' || selfClosing) return `malformed closing tag </${name}>`;
      const expected = stack.pop();
      if (expected !== name) return `</${name}> closes <${expected ?? 'nothing'}>`;
    } else if (!selfClosing) {
      if (stack.length === 0) roots++;
      stack.push(name!);
    } else if (stack.length === 0) {
      roots++;
    }
    if (roots > 1) return 'more than one root element';
    position = close + 1;
  }
  if (stack.length > 0) return `<${stack[stack.length - 1]}> is never closed`;
  if (roots === 0) return 'no root element';
  return undefined;
};
