// SMTP_CHECK (keepalived check_smtp.c): the greeting must be 220, `HELO <helo_name>` must get
// 250, then QUIT, ending when the server answers it or closes. Replies are read whole, multi-line
// ones included (RFC 5321 §4.2.1: `250-...` continues, `250 ...` ends), with a size bound.
import type { ProbeResult } from '../verdict.js';
import { runProbeScope, type ProbeOptions } from './scope.js';
import { openTcp, type ProbeTarget } from './tcp.js';

export type SmtpProbeParams = ProbeTarget & { heloName: string };

/** A reply larger than this is not an SMTP server talking (RFC 5321 §4.5.3.1.5: 512 per line). */
export const SMTP_MAX_REPLY_BYTES = 16 * 1024;

export function probeSmtp(p: SmtpProbeParams, opts: ProbeOptions): Promise<ProbeResult> {
  return runProbeScope(opts, (scope) => {
    const replies = new SmtpReplyReader();
    let phase: 'banner' | 'helo' | 'quit' = 'banner';
    const conn = openTcp(p, scope, {
      // The server speaks first (RFC 5321 §4.3.1): nothing to send on connect.
      connected: () => {},
      data: (chunk) => {
        for (let r = replies.push(chunk); r !== null; r = replies.next()) {
          if (r.kind === 'garbage') { scope.fail('bad_response', `${phase}: ${r.detail}`); return; }
          switch (phase) {
            case 'banner':
              if (r.code !== 220) { scope.fail('smtp_banner', `greeting ${r.code} ${r.text}`.trim()); return; }
              phase = 'helo';
              conn.write(`HELO ${p.heloName}\r\n`);
              break;
            case 'helo':
              if (r.code !== 250) { scope.fail('smtp_helo', `HELO answered ${r.code} ${r.text}`.trim()); return; }
              phase = 'quit';
              conn.write('QUIT\r\n');
              break;
            case 'quit':
              // Any answer to QUIT ends the conversation politely; the check already passed.
              scope.ok();
              return;
          }
        }
      },
      end: () => {
        if (phase === 'quit') scope.ok();
        else scope.fail('bad_response', `connection closed while waiting for the ${phase === 'banner' ? 'greeting' : 'HELO reply'}`);
      },
    });
  });
}

export type SmtpReply = { kind: 'reply'; code: number; text: string } | { kind: 'garbage'; detail: string };

/** Splits a byte stream into complete SMTP replies. */
export class SmtpReplyReader {
  private buffered = '';
  /** How far `buffered` is known to hold no newline (a trickling server is not rescanned). */
  private scanned = 0;
  private lines: string[] = [];
  private linesBytes = 0;

  /** Adds bytes; returns the first complete reply, if any (then call next() for more). */
  push(chunk: Uint8Array): SmtpReply | null {
    this.buffered += Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString('latin1');
    return this.next();
  }

  next(): SmtpReply | null {
    for (;;) {
      const eol = this.buffered.indexOf('\n', this.scanned);
      if (eol < 0) {
        this.scanned = this.buffered.length;
        return this.buffered.length + this.linesBytes > SMTP_MAX_REPLY_BYTES
          ? { kind: 'garbage', detail: `no complete reply within ${SMTP_MAX_REPLY_BYTES} bytes` } : null;
      }
      const line = this.buffered.slice(0, eol).replace(/\r$/, '');
      this.buffered = this.buffered.slice(eol + 1);
      this.scanned = 0;
      const m = /^(\d{3})([ -]|$)(.*)$/.exec(line);
      if (!m) return { kind: 'garbage', detail: `not an SMTP reply: ${JSON.stringify(line.slice(0, 40))}` };
      this.lines.push(m[3]!);
      this.linesBytes += line.length;
      if (m[2] === '-') {
        if (this.linesBytes > SMTP_MAX_REPLY_BYTES) return { kind: 'garbage', detail: `no complete reply within ${SMTP_MAX_REPLY_BYTES} bytes` };
        continue;
      }
      const text = this.lines.join(' / ');
      this.lines = [];
      this.linesBytes = 0;
      return { kind: 'reply', code: Number(m[1]), text };
    }
  }
}
