// UTF-8 both ways. QuickJS (componentize-qjs) has no TextEncoder or
// TextDecoder, so the SDK carries its own; it uses the engine's where there is one.

/** @type {{TextEncoder?: new () => {encode(text: string): Uint8Array}, TextDecoder?: new (label: string, options: {fatal: boolean}) => {decode(bytes: Uint8Array): string}}} */
const engine = /** @type {any} */ (globalThis);
const Encoder = engine.TextEncoder;
const Decoder = engine.TextDecoder;

/**
 * The UTF-8 bytes of `text` (a lone surrogate becomes U+FFFD, as TextEncoder does).
 *
 * @param {string} text
 * @returns {Uint8Array}
 */
export function encode(text) {
  if (Encoder) return new Encoder().encode(text);
  const out = [];
  for (const char of text) {
    let c = /** @type {number} */ (char.codePointAt(0));
    if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
    if (c < 0x80) {
      out.push(c);
    } else if (c < 0x800) {
      out.push(0xc0 | (c >> 6), 0x80 | (c & 0x3f));
    } else if (c < 0x10000) {
      out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
    } else {
      out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 0x3f), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
    }
  }
  return Uint8Array.from(out);
}

/**
 * The text UTF-8 `bytes` hold; bytes that are not UTF-8 throw a TypeError.
 *
 * @param {Uint8Array} bytes
 * @returns {string}
 */
export function decode(bytes) {
  if (Decoder) return new Decoder('utf-8', { fatal: true }).decode(bytes);
  let text = '';
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i];
    const [length, min, first] =
      b < 0x80 ? [1, 0, b] : b >= 0xc2 && b < 0xe0 ? [2, 0x80, b & 0x1f] : b >= 0xe0 && b < 0xf0 ? [3, 0x800, b & 0x0f] : b >= 0xf0 && b < 0xf5 ? [4, 0x10000, b & 0x07] : [0, 0, 0];
    if (length === 0 || i + length > bytes.length) throw new TypeError(`the value is not UTF-8 (byte ${i})`);
    let c = first;
    for (let j = 1; j < length; j++) {
      const next = bytes[i + j];
      if ((next & 0xc0) !== 0x80) throw new TypeError(`the value is not UTF-8 (byte ${i + j})`);
      c = (c << 6) | (next & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) throw new TypeError(`the value is not UTF-8 (byte ${i})`);
    text += String.fromCodePoint(c);
    i += length;
  }
  return text;
}
