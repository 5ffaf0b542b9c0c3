/**
 * The one base64 codec of saved models (flows, checkpoints, the zoo's float16 packing, optimizer
 * state): RFC 4648 with padding. Browser-safe; uses Node's Buffer when present for speed.
 */
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const DECODE = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i;

/**
 * Base64 (RFC 4648, padded) of bytes: Node's Buffer where there is one (fast), else a loop (no btoa needed).
 *
 * @example
 *   bytesToBase64(new Uint8Array(new Float32Array([1]).buffer));   // 'AACAPw=='
 */
export function bytesToBase64(bytes: Uint8Array): string {
  if (typeof Buffer !== 'undefined') return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  const parts: string[] = [];
  const chunk = 3 * 8192;
  for (let start = 0; start < bytes.length; start += chunk) {
    const end = Math.min(start + chunk, bytes.length);
    let s = '';
    for (let i = start; i < end; i += 3) {
      const b0 = bytes[i]!;
      const b1 = i + 1 < end ? bytes[i + 1]! : 0;
      const b2 = i + 2 < end ? bytes[i + 2]! : 0;
      s += ALPHABET[b0 >> 2]! + ALPHABET[((b0 & 3) << 4) | (b1 >> 4)]!;
      s += i + 1 < end ? ALPHABET[((b1 & 15) << 2) | (b2 >> 6)]! : '=';
      s += i + 2 < end ? ALPHABET[b2 & 63]! : '=';
    }
    parts.push(s);
  }
  return parts.join('');
}

/**
 * Inverse of bytesToBase64. Strict: a length that is not a multiple of 4 or a character outside
 * the alphabet is an error (Buffer alone would skip it silently).
 *
 * @example
 *   new Float32Array(base64ToBytes('AACAPw==').buffer);   // [1]
 */
export function base64ToBytes(text: string): Uint8Array {
  if (text.length % 4 !== 0) throw new Error('base64: length is not a multiple of 4');
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  if (typeof Buffer !== 'undefined') {
    const bad = /[^A-Za-z0-9+/]/.exec(text.slice(0, text.length - padding));
    if (bad) throw new Error(`base64: invalid character at ${bad.index}`);
    // A copy with its own ArrayBuffer: small Buffers share a pool, and callers view `.buffer`.
    return new Uint8Array(Buffer.from(text, 'base64'));
  }
  const out = new Uint8Array((text.length / 4) * 3 - padding);
  let o = 0;
  for (let i = 0; i < text.length; i += 4) {
    const c = [0, 1, 2, 3].map((k) => {
      const ch = text.charCodeAt(i + k);
      if (ch === 61 /* = */ && i + k >= text.length - padding) return 0;
      const v = ch < 128 ? DECODE[ch]! : -1;
      if (v < 0) throw new Error(`base64: invalid character at ${i + k}`);
      return v;
    }) as [number, number, number, number];
    const n = (c[0] << 18) | (c[1] << 12) | (c[2] << 6) | c[3];
    if (o < out.length) out[o++] = (n >> 16) & 255;
    if (o < out.length) out[o++] = (n >> 8) & 255;
    if (o < out.length) out[o++] = n & 255;
  }
  return out;
}

