// Random-case tests say how many cases they really checked (issue 14 §6). A case the test skips
// (an early return, a filter, a generated value that makes the claim vacuous) is not counted;
// the test fails when fewer than its stated minimum were checked, or when a kind of case it
// claims to cover (a version, a family, a mutation) came up too rarely. The count is printed as a
// `#` line next to the test's result.
import assert from 'node:assert/strict';

export class CaseCount {
  private checkedN = 0;
  private skippedN = 0;
  private readonly kinds = new Map<string, number>();

  /** `what` names the property in the printed line; `min` is the fewest checked cases it claims. */
  constructor(private readonly what: string, private readonly min: number) {}

  /** One case was asserted; `kinds` tally what sorts of case it was (none, one or several). */
  checked(...kinds: string[]): void {
    this.checkedN++;
    for (const k of kinds) this.kinds.set(k, (this.kinds.get(k) ?? 0) + 1);
  }

  /** One generated case was left out (it would assert nothing). */
  skipped(): void { this.skippedN++; }

  get count(): number { return this.checkedN; }

  /** How many checked cases were of `kind`. */
  of(kind: string): number { return this.kinds.get(kind) ?? 0; }

  /** Prints the count and fails when fewer than the minimum were checked, or when one of
   *  `each.kinds` was checked fewer than `each.min` times. */
  done(each?: { kinds: readonly string[]; min: number }): number {
    const tally = [...this.kinds].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `${k} ${n}`).join(', ');
    console.log(`# ${this.what}: ${this.checkedN} cases checked${this.skippedN > 0 ? `, ${this.skippedN} skipped` : ''} ` +
      `(minimum ${this.min})${tally ? `; ${tally}` : ''}`);
    assert.ok(this.checkedN >= this.min, `${this.what}: only ${this.checkedN} cases checked, fewer than the ${this.min} it claims`);
    for (const k of each?.kinds ?? []) {
      assert.ok(this.of(k) >= each!.min, `${this.what}: only ${this.of(k)} cases of ${k}, fewer than ${each!.min}`);
    }
    return this.checkedN;
  }
}
