// The V8 flags tandem runs with: bin/tandem's first line passes them to node (`env -S`), and
// every bench, the lab and the tests that start a daemon with process.execPath pass the same
// (test/unit/node-flags.test.ts holds bin/tandem to this list).
//
// --max-semi-space-size=1 (MB; V8's default on 64-bit grows to 16): the young generation is the
// V8 heap's largest part that is not live data. With 10,000 TCP checks the daemon's heap holds
// ~33 MB live but ~73 MB committed, ~29 MB of it the two semi-spaces; capped at 1 MB the RSS of
// `npm run bench:checks -- --mode tcp` fell from 124.8-126.5 MB to 99.6-100.0 MB with the same
// CPU within noise (42-44 % vs 42 % of a core, 2026-12-03, docs/benchmarks.md). A smaller young
// generation means more, shorter scavenges; what a check leaves behind per probe is small (the
// engine reports only verdict changes), and the adverts do not come from this heap's thread.
// It cannot be set once node runs (v8.setFlagsFromString does not resize the heap).
export const DAEMON_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1'];
