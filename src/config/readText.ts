// Reading a config file before anything parses it (issue 13 §3): what cannot be a config is
// refused in one line that says why, without a made-up position and without echoing its bytes.
//
// - A file that cannot be opened (missing, permission denied) or is a directory: the reason.
// - Bigger than MAX_CONFIG_BYTES: refused before it is read (a regular file, by its size) or as
//   soon as that much was read (a pipe, /dev/zero). Parsing is the cost: 2.5 million list items
//   (29 MB) took 29 s and 2.3 GB before this limit; 10,000 real servers with two checks each are
//   3.4 MB.
// - Binary (a NUL byte; UTF-16, which is full of them, is named as such): refused whole, since
//   no line of it would mean anything.
// - Text that is not UTF-8 (a Latin-1 "é" in a comment): refused at the line and column of the
//   first byte that is not UTF-8, since that is where to fix it.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { ConfigIssue } from './errors.js';

/** The largest config accepted: 8 MiB (README, config reference). */
export const MAX_CONFIG_BYTES = 8 * 1024 * 1024;

export type ReadText = { ok: true; text: string } | { ok: false; issue: ConfigIssue };

/** `file` is the name issues show (load.ts displayName()). */
export function readConfigText(path: string, file: string, maxBytes = MAX_CONFIG_BYTES): ReadText {
  const refuse = (message: string, at?: { line: number; col: number }): ReadText =>
    ({ ok: false, issue: { severity: 'error', file, ...(at ?? {}), path: '', message } });
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    return refuse(`cannot read the file: ${openError(e as NodeJS.ErrnoException)}`);
  }
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) return refuse('is a directory, not a config file');
    if (st.isFile() && st.size > maxBytes) return refuse(tooBig(`is ${mib(st.size)}`, maxBytes));
    // A pipe or a device has no size: read at most one byte more than the limit.
    const buf = Buffer.allocUnsafe(Math.min(maxBytes + 1, st.isFile() ? st.size + 1 : maxBytes + 1));
    let length = 0;
    for (let i = 0; i < 1_000_000 && length < buf.length; i++) {
      const n = readSync(fd, buf, length, buf.length - length, null);
      if (n === 0) break;
      length += n;
    }
    if (length > maxBytes) return refuse(tooBig(`has more than ${mib(maxBytes)}`, maxBytes));
    return decodeConfigBytes(buf.subarray(0, length), file);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    return refuse(err.code === 'EISDIR' ? 'is a directory, not a config file' : `cannot read the file: ${err.code ?? err.message}`);
  } finally {
    closeSync(fd);
  }
}

/** The text of a config's bytes, or why they are not a config (see the top of this file). */
export function decodeConfigBytes(bytes: Uint8Array, file: string): ReadText {
  const refuse = (message: string, at?: { line: number; col: number }): ReadText =>
    ({ ok: false, issue: { severity: 'error', file, ...(at ?? {}), path: '', message } });
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    return refuse('is UTF-16 text (it starts with a UTF-16 byte order mark): save it as UTF-8');
  }
  const nul = bytes.indexOf(0);
  if (nul >= 0) return refuse(`is not a text file (a NUL byte at offset ${nul}): is this the config file?`);
  const bad = firstInvalidUtf8(bytes);
  if (bad >= 0) {
    const before = Buffer.from(bytes.subarray(0, bad)).toString('utf8');
    const line = before.split('\n').length;
    const col = before.length - before.lastIndexOf('\n');
    return refuse(`is not UTF-8 text: byte 0x${bytes[bad]!.toString(16).padStart(2, '0')} here is not part of a UTF-8 character ` +
      '(a Latin-1 or Windows-1252 editor?); save the file as UTF-8', { line, col });
  }
  return { ok: true, text: Buffer.from(bytes).toString('utf8') };
}

/**
 * Offset of the first byte that does not belong to a well-formed UTF-8 sequence (RFC 3629 §4:
 * no overlong forms, no surrogates, nothing above U+10FFFF), or -1.
 */
export function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    if (c < 0x80) { i++; continue; }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) need = 1;
    else if (c >= 0xe0 && c <= 0xef) { need = 2; if (c === 0xe0) lo = 0xa0; if (c === 0xed) hi = 0x9f; }
    else if (c >= 0xf0 && c <= 0xf4) { need = 3; if (c === 0xf0) lo = 0x90; if (c === 0xf4) hi = 0x8f; }
    else return i;
    for (let k = 1; k <= need; k++) {
      const d = b[i + k];
      // The second byte has the narrower range; the others are plain continuation bytes.
      if (d === undefined || d < (k === 1 ? lo : 0x80) || d > (k === 1 ? hi : 0xbf)) return i;
    }
    i += need + 1;
  }
  return -1;
}

function openError(e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case 'ENOENT': return 'no such file (ENOENT)';
    case 'EACCES': case 'EPERM': return `permission denied (${e.code})`;
    case 'ENOTDIR': return 'a component of the path is not a directory (ENOTDIR)';
    case 'ELOOP': return 'too many symbolic links (ELOOP)';
    default: return e.code ?? e.message;
  }
}

function tooBig(what: string, maxBytes: number): string {
  return `${what}: a config may be at most ${mib(maxBytes)} (10,000 real servers with two checks each take about 3.4 MB): refusing`;
}

function mib(n: number): string {
  return n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1).replace(/\.0$/, '')} MiB` : `${n} bytes`;
}
