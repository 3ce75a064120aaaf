// Preloaded into every test file's process by test/run.mjs: a test that calls process.exit()
// would end its file's run there, and the tests after it would never be reported, yet the file
// would pass. Here such a call throws, so that test fails with this message instead. Code that
// must really exit (the lab's signal handlers, after their cleanup) calls the original through
// process[Symbol.for('tandem.realExit')].
const realExit = process.exit.bind(process);
process[Symbol.for('tandem.realExit')] = realExit;
process.exit = function exit(code) {
  throw new Error(`process.exit(${code ?? ''}) called in a test: it would end this file's run and hide the tests after it`);
};
