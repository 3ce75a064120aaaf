// The status page's pure parts (src/api/page.ts): state colours, the "ago" form, the element
// builder that keeps every string text, and the page's self-containment and CSP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { agoText, el, realServerClass, STATUS_PAGE_CSP, STATUS_PAGE_HTML, vrrpStateClass, type MiniDocument, type MiniElement, type MiniNode } from '../../src/api/page.js';

test('VRRP state and real server role colours', () => {
  assert.equal(vrrpStateClass('MASTER'), 'st-master');
  assert.equal(vrrpStateClass('BACKUP'), 'st-backup');
  assert.equal(vrrpStateClass('FAULT'), 'st-fault');
  assert.equal(vrrpStateClass('INIT'), 'st-init');
  assert.equal(vrrpStateClass('whatever'), 'st-init');
  assert.equal(realServerClass('up'), 'rs-up');
  assert.equal(realServerClass('down'), 'rs-down');
  assert.equal(realServerClass('inhibited'), 'rs-down');
  assert.equal(realServerClass('replaced_by_sorry'), 'rs-sorry');
  assert.equal(realServerClass('sorry_active'), 'rs-sorry');
  assert.equal(realServerClass('sorry_standby'), 'rs-idle');
});

test('agoText', () => {
  assert.equal(agoText(-5000), '0s');
  assert.equal(agoText(42_900), '42s');
  assert.equal(agoText(192_000), '3m12s');
  assert.equal(agoText(2 * 3600_000 + 5 * 60_000), '2h05m');
  assert.equal(agoText(4 * 86400_000 + 3 * 3600_000), '4d03h');
});

// A recording fake of the few DOM calls el() makes.
type FakeNode = { kind: 'text'; text: string } | { kind: 'el'; tag: string; className: string; attrs: Record<string, string>; children: FakeNode[] };
function fakeDocument(): MiniDocument {
  return {
    createTextNode: (text: string) => ({ kind: 'text', text, appendChild: () => { throw new Error('text node'); } }) as unknown as MiniNode,
    createElement: (tag: string) => {
      const e = { kind: 'el', tag, className: '', attrs: {} as Record<string, string>, children: [] as unknown[],
        setAttribute(k: string, v: string) { e.attrs[k] = v; }, appendChild(c: unknown) { e.children.push(c); } };
      return e as unknown as MiniElement;
    },
  };
}

test('el(): strings become text nodes, only class and data-* attributes are set', () => {
  const hostile = '<img src=x onerror="alert(1)">';
  const e = el(fakeDocument(), 'td', { class: 'state st-master', 'data-rs': hostile, onclick: 'alert(1)', style: 'x' }, hostile, null, 'b') as unknown as FakeNode;
  assert.equal(e.kind, 'el');
  if (e.kind !== 'el') return;
  assert.equal(e.className, 'state st-master');
  assert.deepEqual(e.attrs, { 'data-rs': hostile });
  assert.deepEqual(e.children.map((c) => (c.kind === 'text' ? c.text : c.tag)), [hostile, 'b']);
  assert.ok(e.children.every((c) => c.kind === 'text'));
});

test('the page is self-contained, builds the DOM without HTML parsing, and its CSP allows exactly its script and style', () => {
  const html = STATUS_PAGE_HTML;
  // No external resource of any kind.
  assert.doesNotMatch(html, /\b(src|href)\s*=/i);
  assert.doesNotMatch(html, /https?:\/\//i);
  assert.doesNotMatch(html, /@import|url\(/i);
  const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
  const styles = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => m[1]!);
  assert.equal(scripts.length, 1);
  assert.equal(styles.length, 1);
  const script = scripts[0]!;
  // Data reaches the DOM through textContent / text nodes only.
  assert.doesNotMatch(script, /innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/);
  assert.match(script, /fetch\('status\.json'/);
  assert.match(script, /REFRESH_MS = 2000/);
  // The helpers injected into the page are the ones tested above.
  for (const f of [vrrpStateClass, realServerClass, agoText, el]) assert.ok(script.includes(f.toString()), f.name);
  const sha = (s: string) => `'sha256-${createHash('sha256').update(s, 'utf8').digest('base64')}'`;
  assert.match(STATUS_PAGE_CSP, /^default-src 'none'; /);
  assert.ok(STATUS_PAGE_CSP.includes(`script-src ${sha(script)};`), STATUS_PAGE_CSP);
  assert.ok(STATUS_PAGE_CSP.includes(`style-src ${sha(styles[0]!)};`), STATUS_PAGE_CSP);
  assert.match(STATUS_PAGE_CSP, /connect-src 'self'/);
  // The script parses.
  assert.doesNotThrow(() => new Function(script));
});
