// Real-server and quorum hooks from the running daemon (issue 4 §1): a real TCP server in a lab
// namespace is stopped and started again; tandem's checker sees it, and notify_down / notify_up,
// quorum_down / quorum_up and the notify FIFO's RS / VS lines follow (the FIFO in order), with keepalived's
// argv and line format. This kernel has no IPVS, so the table itself is not touched here (the
// backend's failures are retried and logged; the kernel tier covers the table): hooks must not
// depend on the backend working.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { Lab, waitFor, type NsProcess } from '../lib/netns.js';
import { Tandem } from '../lib/tandem.js';

const TIMEOUT = { timeout: 90_000 };

test('real server down / up: notify_down and quorum_down with the FIFO lines in order; then notify_up and quorum_up', TIMEOUT, async () => {
  const lab = await Lab.create({ prefix: 'tC', nodes: [{ name: 'lb1', ipv4: ['192.0.2.1/24'] }] });
  const node = lab.node('lb1');
  let server: NsProcess | undefined;
  try {
    const log = lab.path('hooks.log');
    const script = lab.path('hook.sh');
    writeFileSync(script, `#!/bin/sh\necho "$*" >> ${log}\n`);
    chmodSync(script, 0o755);
    const fifo = lab.path('notify.fifo');
    const fifoOut = lab.path('fifo.out');
    const serve = () => lab.spawn(node, [process.execPath, '-e',
      "require('net').createServer((s) => s.on('error', () => {})).listen(8080, '192.0.2.1')"]);
    server = serve();
    const d = await Tandem.start(lab, node, {
      routerId: 'lb1', instances: [],
      tandemTop: {
        global: { notify_fifo: fifo },
        virtual_servers: [{
          address: '192.0.2.100', port: 80, protocol: 'TCP', lb_algo: 'rr', lb_kind: 'NAT', delay_loop: 1,
          quorum_up: `${script} quorum_up`, quorum_down: `${script} quorum_down`,
          real_servers: [{
            address: '192.0.2.1', port: 8080, weight: 1,
            notify_up: `${script} notify_up`, notify_down: `${script} notify_down "two words"`,
            checks: [{ tcp_check: { connect_timeout: 1, retry: 0, delay_before_retry: 1 } }],
          }],
        }],
      },
    });
    await waitFor(() => existsSync(fifo), { timeoutMs: 5000, what: 'the notify FIFO' });
    const reader = lab.spawn(node, ['/bin/sh', '-c', `exec cat ${fifo} >> ${fifoOut}`]);
    const lines = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8').trim().split('\n').filter(Boolean) : []);

    await server.kill9();
    await waitFor(() => lines(log).length >= 2 && lines(fifoOut).length >= 2, { timeoutMs: 10_000, what: 'down hooks' })
      .catch((e: Error) => assert.fail(`${e.message}: hooks ${JSON.stringify(lines(log))}, fifo ${JSON.stringify(lines(fifoOut))}\n${d.tail(30)}`));
    server = serve();
    await waitFor(() => lines(log).length >= 4 && lines(fifoOut).length >= 4, { timeoutMs: 10_000, what: 'up hooks' })
      .catch((e: Error) => assert.fail(`${e.message}: hooks ${JSON.stringify(lines(log))}, fifo ${JSON.stringify(lines(fifoOut))}\n${d.tail(30)}`));

    // A real server's scripts and its virtual server's run in separate lanes (one per real server,
    // one per virtual server: src/alert/events.ts eventKey), so notify_down and the quorum_down it
    // causes may finish in either order, as keepalived's (it forks both: ipwrapper.c
    // do_rs_notifies(), do_vs_notifies()). Each lane is in event order, and every down hook ran
    // before the server came back. The FIFO is written in the daemon's own order.
    const hooks = lines(log);
    assert.deepEqual([...hooks.slice(0, 2)].sort(), ['notify_down two words', 'quorum_down'], JSON.stringify(hooks));
    assert.deepEqual([...hooks.slice(2)].sort(), ['notify_up', 'quorum_up'], JSON.stringify(hooks));
    assert.deepEqual(lines(fifoOut), [
      'RS [192.0.2.1]:tcp:8080 [192.0.2.100]:tcp:80 DOWN',
      'VS [192.0.2.100]:tcp:80 DOWN',
      'RS [192.0.2.1]:tcp:8080 [192.0.2.100]:tcp:80 UP',
      'VS [192.0.2.100]:tcp:80 UP',
    ]);
    assert.equal(await d.stop(), 0);
    await reader.kill9();
  } finally {
    await server?.kill9().catch(() => undefined);
    await lab.destroy();
  }
});
