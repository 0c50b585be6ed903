/**
 * Byte-level helpers of the HTTP/1.1 response parser in `http_client.ts`.
 *
 * @module
 */

/**
 * Finds the blank line that ends a response head.
 *
 * @param buf The bytes read so far.
 * @param end How many bytes of `buf` are valid.
 * @returns The index of the `\r\n\r\n`, or -1 when not yet read.
 */
export function findHeaderEnd(buf: Uint8Array, end: number): number {
  for (let i = 0; i + 3 < end; i++) {
    if (
      buf[i] === 13 && buf[i + 1] === 10 && buf[i + 2] === 13 &&
      buf[i + 3] === 10
    ) return i;
  }
  return -1;
}

/**
 * Decodes a complete chunked body, or reports that more bytes are needed.
 * Trailers are read and ignored.
 *
 * @param buf The bytes read so far.
 * @param start Where the body starts in `buf`.
 * @param end How many bytes of `buf` are valid.
 * @returns The body bytes, or null when the body is not complete yet.
 * @throws {Error} when a chunk size line is not hexadecimal.
 */
export function parseChunked(
  buf: Uint8Array,
  start: number,
  end: number,
): Uint8Array | null {
  const parts: Uint8Array[] = [];
  let pos = start;
  for (;;) {
    const lineEnd = indexOfCrlf(buf, pos, end);
    if (lineEnd < 0) return null;
    let size = 0;
    let digits = 0;
    for (let i = pos; i < lineEnd; i++) {
      const c = buf[i];
      const v = c >= 48 && c <= 57
        ? c - 48
        : c >= 97 && c <= 102
        ? c - 87
        : c >= 65 && c <= 70
        ? c - 55
        : -1;
      if (v < 0) break; // chunk extensions follow `;`
      size = size * 16 + v;
      digits++;
    }
    if (digits === 0) throw new Error("Malformed chunk size line");
    pos = lineEnd + 2;
    if (size === 0) {
      // Trailers, then an empty line.
      for (;;) {
        const trailerEnd = indexOfCrlf(buf, pos, end);
        if (trailerEnd < 0) return null;
        if (trailerEnd === pos) return concat(parts);
        pos = trailerEnd + 2;
      }
    }
    if (pos + size + 2 > end) return null;
    parts.push(buf.subarray(pos, pos + size));
    pos += size + 2;
  }
}

function indexOfCrlf(buf: Uint8Array, from: number, end: number): number {
  for (let i = from; i + 1 < end; i++) {
    if (buf[i] === 13 && buf[i + 1] === 10) return i;
  }
  return -1;
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
