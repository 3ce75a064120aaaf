// Secrets never leave the daemon (issue 12 §2): the one definition of what a secret is, and the
// masking that every text tandem writes about the config goes through. Used by the config
// errors (fields.ts report() and describe(), load.ts for YAML syntax errors), `tandem import`'s
// notes (import/convert.ts) and the webhook channel (alert/webhook.ts); the log, the state file,
// the status API and page, the metrics and `tandem reload` only ever show those texts.
//
// What is secret is decided by the KEY's name, not by a `secret: true` flag on schema fields,
// because several of the texts to mask are written where there is no schema field: a YAML
// syntax error is found before there is a document to validate; `tandem import` reads
// keepalived's keywords; an unknown or mistyped key (`auth_passwd`, or `auth_pass 73914682`
// written keepalived-style without the colon) matches no field. A rule on names covers all of
// them, and a key added later whose name says password, secret or token is masked without its
// author remembering a flag (test/unit/secrets.test.ts lists the schema's secret keys, so a
// new one shows up in review). Credentials inside a URL (`https://user:pw@host/`, `?token=`)
// are masked wherever a URL appears, whatever its key.
//
// keepalived does not echo auth_pass in its config errors either (vrrp_parser.c
// vrrp_auth_pass_handler: "Truncating auth_pass to %zu characters"; a missing value is
// "missing a parameter after keyword `auth_pass`"), but its data dump (vrrp_data.c dump_vrrp,
// SIGUSR1 or -d) prints "Password = <auth_pass>"; tandem has no such dump, and its status is
// readable over an unauthenticated TCP listener, so nothing there may carry a secret.
//
// Pure text functions: no node: module, no yaml (the alert code imports this too).

/** What replaces a secret value. */
export const MASK = '***';

/** A key is secret when one of its words (split at _ - . and camelCase) is one of these. */
const SECRET_WORDS = new Set([
  'pass', 'passwd', 'password', 'passwords', 'passphrase', 'pwd',
  'secret', 'secrets', 'token', 'tokens', 'credential', 'credentials', 'apikey',
]);
/** ... or `key` after one of these (api_key, private_key, accessKey, signing_key). */
const KEY_QUALIFIERS = new Set(['api', 'private', 'access', 'signing']);

const secretKeyCache = new Map<string, boolean>();

/** The one rule: does a key of this name hold a secret? (auth_pass, secret, smtp_password ...) */
export function isSecretKey(key: string): boolean {
  // Asked for every key of every mapping at load (10,000 real servers: ~100,000 times, a few
  // dozen distinct names): remembered, up to a bound a hostile file cannot grow past.
  const known = secretKeyCache.get(key);
  if (known !== undefined) return known;
  const words = key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase().split(/[^a-z0-9]+/).filter(Boolean);
  const secret = words.some((w, i) => SECRET_WORDS.has(w) || (w === 'key' && i > 0 && KEY_QUALIFIERS.has(words[i - 1]!)));
  if (secretKeyCache.size < 4096) secretKeyCache.set(key, secret);
  return secret;
}

/** The last key of a path such as `vrrp_instances[0].authentication.auth_pass`. */
export function lastKeyOf(path: string): string {
  return path.replace(/\[\d+\]$/, '').split('.').pop() ?? '';
}

// A URL's authority: everything between `scheme://` and the first / ? # or a character that
// cannot be in one. Greedy up to the LAST @ in it (WHATWG URL takes the last one, so an
// unencoded @ in a password stays inside the masked part).
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/?#"'<>\\@]*(?:@[^\s/?#"'<>\\@]*)*)@/gi;
const QUERY_PARAM = /([?&;])([^=&#\s"'<>?;]+)=([^&#\s"'<>;]*)/g;

/**
 * Masks the credentials of every URL in `text`: the password of the userinfo
 * (`https://user:pw@host/` -> `https://user:***@host/`; a userinfo without a colon is often a
 * token, `https://TOKEN@host/` -> `https://***@host/`), and query parameters with a secret
 * name (`?token=abc` -> `?token=***`). Also for error messages that embed a URL.
 */
export function maskUrlCredentials(text: string): string {
  if (!text.includes('://') && !/[?&;][^=]+=/.test(text)) return text;
  return text
    .replace(URL_USERINFO, (_m, scheme: string, userinfo: string) => {
      if (userinfo === '') return `${scheme}@`;
      const colon = userinfo.indexOf(':');
      return colon >= 0 ? `${scheme}${userinfo.slice(0, colon)}:${MASK}@` : `${scheme}${MASK}@`;
    })
    .replace(QUERY_PARAM, (m, sep: string, name: string, value: string) =>
      value !== '' && isSecretKey(safeDecode(name)) ? `${sep}${name}=${MASK}` : m);
}

function safeDecode(s: string): string {
  try { return decodeURIComponent(s); } catch { return s; }
}

// `auth_pass 73914682`, `password=abc`, `--token: x`: a secret-named word followed by a value.
const ASSIGNMENT = /(^|[^A-Za-z0-9_])([A-Za-z][A-Za-z0-9_.-]*)(\s*[:=]\s*|\s+)("[^"]*"?|'[^']*'?|[^\s,;}\]]+)/g;

/**
 * For a VALUE that is about to be shown (never for a whole message, whose "path: text" would
 * look like an assignment): URL credentials, and `<secret key> <value>` written inside it (a
 * keepalived line pasted as a YAML string: `authentication: "auth_pass 73914682"`).
 */
export function maskSecretText(value: string): string {
  return maskUrlCredentials(value).replace(ASSIGNMENT, (m, pre: string, word: string, sep: string) =>
    isSecretKey(word) ? `${pre}${word}${sep}${MASK}` : m);
}

/** Values this short cannot be told from a word of the message itself ("a", "to"). */
export const MIN_REDACTED_LENGTH = 3;

/**
 * Replaces every occurrence of each of `values` in `text` with MASK: the last line of defence
 * for a message whose author echoed a value the caller knows is secret. Longest first, so a
 * value that contains another is masked whole.
 */
export function redactValues(text: string, values: Iterable<string>): string {
  const sorted = [...new Set(values)].filter((v) => v.length >= MIN_REDACTED_LENGTH).sort((a, b) => b.length - a.length);
  let out = text;
  for (const v of sorted) if (out.includes(v)) out = out.split(v).join(MASK);
  return out;
}

/** Whether `a` and `b` have `n` consecutive characters in common (n-gram overlap). */
export function sharesRun(a: string, b: string, n: number): boolean {
  if (a.length < n || b.length < n) return false;
  const grams = new Set<string>();
  for (let i = 0; i + n <= b.length; i++) grams.add(b.slice(i, i + n));
  for (let i = 0; i + n <= a.length; i++) if (grams.has(a.slice(i, i + n))) return true;
  return false;
}

/** Where a secret key's value is written in a YAML text (found without parsing it). */
export interface SecretSpan {
  key: string;
  /** Offsets of the value: from just after `key:` to its end (continuation lines too). */
  start: number;
  end: number;
  /** The value as written (raw: quotes, block scalar header, continuation lines). */
  text: string;
}

// `key:` at the start of a line, after `- `, `? `, `{` or `,` (flow mappings), plain or quoted.
const YAML_KEY = /(^|[\s{,?-])(["']?)([A-Za-z_][A-Za-z0-9_.-]*)\2[ \t]*:(?=[ \t]|$)/g;

/**
 * The values of secret keys in a YAML text, by line, for errors found where the text does not
 * parse: a syntax error that overlaps one of them may quote the secret (the `yaml` package's
 * "Block scalar header includes extra characters: |<value>", "Invalid escape sequence \x..").
 * A value runs to the end of its line and over the following lines indented deeper than the
 * key's line (multi-line plain, quoted and block scalars).
 */
export function yamlSecretSpans(text: string): SecretSpan[] {
  const spans: SecretSpan[] = [];
  const lines: Array<{ start: number; text: string }> = [];
  for (let start = 0; start <= text.length;) {
    const nl = text.indexOf('\n', start);
    const end = nl < 0 ? text.length : nl;
    lines.push({ start, text: text.slice(start, end) });
    if (nl < 0) break;
    start = nl + 1;
  }
  const indentOf = (s: string) => s.length - s.trimStart().length;
  lines.forEach((line, i) => {
    const body = line.text.replace(/(^|\s)#.*$/, '');
    for (const m of body.matchAll(YAML_KEY)) {
      if (!isSecretKey(m[3]!)) continue;
      const valueStart = line.start + m.index + m[0].length;
      let end = line.start + line.text.length;
      const indent = indentOf(line.text);
      for (let j = i + 1; j < lines.length; j++) {
        const next = lines[j]!;
        if (next.text.trim() !== '' && indentOf(next.text) <= indent) break;
        end = next.start + next.text.length;
      }
      // A quoted value runs to its closing quote, wherever that is: an unclosed one to the end
      // of the text, where the parser reports it.
      const open = /^[ \t]*(["'])/.exec(text.slice(valueStart, end + 1));
      if (open) end = Math.max(end, closingQuote(text, valueStart + open[0].length, open[1]!));
      spans.push({ key: m[3]!, start: valueStart, end, text: text.slice(valueStart, end).trim() });
    }
  });
  return spans;
}

/** The offset of the quote that closes a YAML quoted scalar opened just before `from`
 *  (`\"` escapes in double quotes, `''` in single), or the end of the text. */
function closingQuote(text: string, from: number, quote: string): number {
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (quote === '"' && c === '\\') { i++; continue; }
    if (c !== quote) continue;
    if (quote === "'" && text[i + 1] === "'") { i++; continue; }
    return i;
  }
  return text.length;
}
