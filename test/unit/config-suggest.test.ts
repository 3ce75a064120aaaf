// "Did you mean": the closest known key within a third of the key's length. A candidate whose
// length alone puts it out of reach is never compared: the config fuzz found an 8 MB key that
// cost 14 s of edit distances against every known key.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { editDistance, suggest } from '../../src/config/suggest.js';

/** A known key that fails the test if suggest() compares against it. */
function untouchable(length: number): string {
  return { length, toLowerCase: () => { throw new Error('compared a candidate that is out of reach'); } } as unknown as string;
}

describe('suggest', () => {
  it('finds a plausible typo and nothing for a distant word', () => {
    assert.equal(suggest('preemt', ['preempt', 'priority']), 'preempt');
    assert.equal(suggest('Advert-Int', ['advert_int']), 'advert_int');
    assert.equal(suggest('zzzzzzzz', ['preempt', 'priority']), undefined);
    assert.equal(editDistance('kitten', 'sitting'), 3);
  });

  it('does not compare candidates whose length is further off than the allowed edits', () => {
    assert.equal(suggest('x'.repeat(100_000), [untouchable(8), untouchable(30)]), undefined);
    assert.equal(suggest('prio', [untouchable(8)]), undefined, 'limit 1 edit: a key 4 characters longer is out of reach');
    // Within reach, it is compared (and the result is the real distance's).
    assert.equal(suggest('priorty', ['priority']), 'priority');
  });
});
