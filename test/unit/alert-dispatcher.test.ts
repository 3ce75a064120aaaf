// The alert dispatcher (src/alert/dispatcher.ts) with fake channels and a manual clock: events
// fan out in keepalived's order (scripts, FIFO, webhooks, mail); a channel that throws is
// contained, logged once per interval, and the others still get the event; a reload replaces only
// the channels whose settings changed, and stop() stops every channel.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AlertChannelMakers, FifoChannel, MailChannel, ScriptsChannel, WebhooksChannel } from '../../src/alert/dispatcher.js';
import { AlertDispatcher } from '../../src/alert/dispatcher.js';
import type { AlertEvent } from '../../src/alert/events.js';
import type { Config } from '../../src/config/model.js';
import { createLogger } from '../../src/log.js';
import { loadOk } from '../lib/config.js';
import { ManualTimers } from '../lib/manualTimers.js';

const event: AlertEvent = { type: 'vrrp_instance', instance: 'VI_1', state: 'MASTER', previous: 'BACKUP', priority: 100, reason: 'master_down_timer', time: 0 };

const BASE = loadOk('vrrp_instances: []\n');
function withGlobal(g: Partial<Config['global']>, base: Config = BASE): Config {
  return { ...base, global: { ...base.global, ...g } } as Config;
}
const WEBHOOK = {
  url: 'http://127.0.0.1:9/hook', secret: undefined, timeoutMs: 2000, retries: 0, queueSize: 4,
  verifyCertificate: true, caFile: undefined, events: ['vrrp'],
} as unknown as Config['global']['webhooks'][number];
const CONFIG = withGlobal({ notifyFifo: '/run/tandem-test.fifo', webhooks: [WEBHOOK] });

/** Fake channels that record what the dispatcher does with them, in one shared log. */
function fakes() {
  const calls: string[] = [];
  let made = 0;
  const throwing = new Set<string>();
  const handle = (name: string) => (e: AlertEvent) => {
    calls.push(`${name}.handle ${e.type}`);
    if (throwing.has(name)) throw new Error(`${name} is broken`);
  };
  const makers: AlertChannelMakers = {
    scripts: (): ScriptsChannel => ({
      handle: handle('scripts'), setConfig: () => { calls.push('scripts.setConfig'); },
      stop: async (o) => { calls.push(`scripts.stop ${o.graceMs}`); },
      counters: () => ({ run: 0, failed: 0, timed_out: 0, dropped: 0 }), queueStats: () => ({ keys: 0, pending: 0, running: 0 }),
    }),
    fifo: (path) => {
      const n = ++made;
      calls.push(`fifo.open ${path} #${n}`);
      const f: FifoChannel = { path, handle: handle('fifo'), close: () => { calls.push(`fifo.close #${n}`); }, counters: () => ({ written: 0, dropped: 0, backlog: 0 }) };
      return { ok: true, fifo: f };
    },
    webhooks: (config): WebhooksChannel | undefined => {
      if (!config.global.webhooks.length) return undefined;
      const n = ++made;
      calls.push(`webhooks.make #${n}`);
      return {
        handle: handle('webhooks'), start: () => { calls.push(`webhooks.start #${n}`); },
        stop: async () => { calls.push(`webhooks.stop #${n}`); }, counters: () => [],
      };
    },
    mail: (): MailChannel => {
      const n = ++made;
      calls.push(`mail.make #${n}`);
      return {
        handle: handle('mail'), start: () => { calls.push(`mail.start #${n}`); }, stop: async () => { calls.push(`mail.stop #${n}`); },
        setFilter: () => { calls.push(`mail.setFilter #${n}`); },
        counters: () => ({ queued: 0, delivered: 0, failed: 0, dropped: 0, pending: 0, inFlight: false, lastError: null }),
      };
    },
  };
  return { calls, makers, throwing };
}

function recording() {
  const lines: string[] = [];
  return { lines, log: createLogger({ write: (l) => lines.push(l) }) };
}

describe('alert dispatcher with fake channels', () => {
  test('fans out in order: scripts, notify FIFO, webhooks, mail', () => {
    const { calls, makers } = fakes();
    const d = new AlertDispatcher(CONFIG, { log: recording().log, timers: new ManualTimers(), channels: makers });
    d.start();
    calls.length = 0;
    d.handle(event);
    assert.deepEqual(calls, ['scripts.handle vrrp_instance', 'fifo.handle vrrp_instance', 'webhooks.handle vrrp_instance', 'mail.handle vrrp_instance']);
    assert.equal(d.snapshot().events, 1);
  });

  test('a channel that throws is contained: the others get the event, one warning per interval', () => {
    const { calls, makers, throwing } = fakes();
    const { lines, log } = recording();
    const timers = new ManualTimers();
    const d = new AlertDispatcher(CONFIG, { log, timers, channels: makers });
    d.start();
    throwing.add('fifo');
    calls.length = 0;
    assert.doesNotThrow(() => { d.handle(event); d.handle(event); });
    assert.deepEqual(calls.filter((c) => c.startsWith('mail.handle')).length, 2, 'mail, after the broken FIFO, still got both');
    assert.deepEqual(calls.filter((c) => c.startsWith('webhooks.handle')).length, 2);
    const warns = () => lines.filter((l) => l.includes('alert channel notify_fifo failed'));
    assert.equal(warns().length, 1, 'the second failure within the interval is suppressed');
    assert.match(warns()[0]!, /fifo is broken/);
    timers.advance(10_000);
    d.handle(event);
    assert.equal(warns().length, 2, 'one more line once the interval has passed (the injected clock)');
    assert.match(warns()[1]!, /1 similar suppressed/);
  });

  test('reconfigure replaces only the channels whose settings changed', async () => {
    const { calls, makers } = fakes();
    const d = new AlertDispatcher(CONFIG, { log: recording().log, timers: new ManualTimers(), channels: makers });
    d.start();
    assert.deepEqual(calls, ['webhooks.make #1', 'mail.make #2', 'fifo.open /run/tandem-test.fifo #3', 'webhooks.start #1', 'mail.start #2']);

    // Same FIFO and mail settings, other webhooks: only the webhooks are replaced.
    calls.length = 0;
    const next = withGlobal({ webhooks: [{ ...WEBHOOK, url: 'http://127.0.0.1:9/other' }] }, CONFIG);
    d.reconfigure(next);
    assert.deepEqual(calls, ['scripts.setConfig', 'webhooks.stop #1', 'webhooks.make #4', 'webhooks.start #4', 'mail.setFilter #2']);

    // Another FIFO path: the FIFO is reopened, nothing else is replaced.
    calls.length = 0;
    d.reconfigure(withGlobal({ notifyFifo: '/run/other.fifo' }, next));
    assert.deepEqual(calls, ['scripts.setConfig', 'fifo.close #3', 'fifo.open /run/other.fifo #5', 'mail.setFilter #2']);

    calls.length = 0;
    d.handle(event);
    assert.deepEqual(calls, ['scripts.handle vrrp_instance', 'fifo.handle vrrp_instance', 'webhooks.handle vrrp_instance', 'mail.handle vrrp_instance'],
      'the new channels are the ones that get events');

    calls.length = 0;
    await d.stop(1234);
    assert.deepEqual(calls, ['scripts.stop 1234', 'webhooks.stop #4', 'mail.stop #2', 'fifo.close #5']);
    d.handle(event);
    assert.deepEqual(calls.slice(4), [], 'no channel gets events after stop');
  });
});
