// Loading config text in unit tests: the valid case returns the model (failing the test with
// every located error otherwise), the invalid case returns the formatted errors.
import assert from 'node:assert/strict';
import { formatConfigError } from '../../src/config/errors.js';
import { loadConfigText, type LoadResult } from '../../src/config/load.js';
import type { Config } from '../../src/config/model.js';

export interface LoadAs { file?: string; hostname?: string }

export function loadOk(text: string, as: LoadAs = {}): Config {
  const r = loadConfigText(text, as.file ?? 'lb.yaml', { hostname: as.hostname ?? 'h' });
  assert.ok(r.ok, r.ok ? '' : r.errors.map(formatConfigError).join('\n'));
  return r.config;
}

/** The whole load result of a valid config (with backendIssues, config/lbBackend.ts). */
export function loadResult(text: string, as: LoadAs = {}): Extract<LoadResult, { ok: true }> {
  const r = loadConfigText(text, as.file ?? 'lb.yaml', { hostname: as.hostname ?? 'h' });
  assert.ok(r.ok, r.ok ? '' : r.errors.map(formatConfigError).join('\n'));
  return r;
}

export function configErrors(text: string, as: LoadAs = {}): string[] {
  const r = loadConfigText(text, as.file ?? 'lb.yaml', { hostname: as.hostname ?? 'h' });
  assert.equal(r.ok, false, 'config should be invalid');
  return r.ok ? [] : r.errors.map(formatConfigError);
}

/** A config that loads (every error fails the test) and the warnings it loads with. */
export function loadWithWarnings(text: string, as: LoadAs = {}): { config: Config; warnings: string[] } {
  const r = loadConfigText(text, as.file ?? 'lb.yaml', { hostname: as.hostname ?? 'h' });
  assert.ok(r.ok, r.ok ? '' : r.errors.map(formatConfigError).join('\n'));
  return { config: r.config, warnings: r.warnings.map(formatConfigError) };
}
