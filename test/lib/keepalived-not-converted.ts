// The keepalived keywords `tandem import` does not convert yet, and why (issue 13 §4: "every note
// names a keyword that truly has no tandem equivalent yet"). The counting test in
// test/unit/keepalived-fixtures.test.ts holds this list to the truth both ways: a note about a
// keyword that is not here fails it (convert the keyword, or add it here with the issue that
// will build it), and so does an entry that no fixture's note names any more (it is converted
// now, or the fixture that used it is gone: delete the entry).
//
// `issue` is the open issue that builds the missing part; "none filed" means no issue asks for it
// yet. `kind` says what is missing: `feature` = tandem cannot do it; `importer` = tandem can, the
// importer does not convert it yet; `keepalived-drops` = keepalived itself ignores or drops it
// (with a warning), and the import drops it with a note too (issue 13 §1 adds such notes).

export interface NotConverted {
  issue: string;
  kind: 'feature' | 'importer' | 'keepalived-drops';
  why: string;
}

export const NOT_CONVERTED_YET: Record<string, NotConverted> = {
  // ---- issue 16 §1: VIP options are converted (a VIP's use_vmac waits for VMAC, issue 16 §3:
  // its note is on the address and lists the options, named `virtual_ipaddress use_vmac`) ----

  // ---- issue 16 §2: routes, rules and static addresses are converted ----

  // ---- issue 16 §3: VMAC ----

  // ---- issue 17: connection sync ----
  lvs_sync_daemon: { issue: '17 §1', kind: 'feature', why: 'no IPVS sync daemon / conntrackd yet' },

  // ---- no issue filed yet ----
  // vrrp_strict converts (completion.ts applies keepalived's strict rules) except two behaviours
  // tandem has no form for: not answering a lower-priority advert, and no accept mode.
  vrrp_strict: { issue: 'none filed', kind: 'feature', why: 'tandem always answers a lower priority (RFC 9568) and has no accept mode (no firewall rules on VIPs)' },
  dont_track_primary: { issue: 'none filed', kind: 'feature', why: 'tandem always tracks the instance\'s own interface (vrrp/health.ts)' },
  vrrp_garp_interval: { issue: 'none filed', kind: 'feature', why: 'tandem sends a GARP burst back to back; no delay between packets' },
  vrrp_gna_interval: { issue: 'none filed', kind: 'feature', why: 'as vrrp_garp_interval, for unsolicited NAs' },
  vrrp_startup_delay: { issue: 'none filed', kind: 'feature', why: 'VRRP starts at once' },
  vrrp_mcast_group4: { issue: 'none filed', kind: 'feature', why: 'tandem sends to 224.0.0.18 only' },
  // tandem accepts an advert whose address list differs from its own by default (vrrp/validate.ts
  // strictAddressCheck off), which is what this keyword asks of keepalived: the importer could
  // drop it without a note.
};

/**
 * Options of a virtual_ipaddress entry (keepalived/vrrp/vrrp_ipaddress.c alloc_ipaddress()):
 * those that take a value, and flags.
 */
const VIP_OPTIONS_WITH_VALUE = new Set(['dev', 'scope', 'broadcast', 'brd', 'label', 'peer', 'preferred_lft', 'track_group']);
const VIP_FLAG_OPTIONS = new Set(['home', '-nodad', 'nodad', 'noprefixroute', 'autojoin', 'no_track', 'use_vmac']);

/**
 * The keepalived keywords a note is about. Most notes name their keyword; a virtual_ipaddress
 * entry's note is named by the address and lists the options that were dropped; a
 * `virtual_server group NAME` note is named `virtual_server`. A word that cannot be placed comes
 * back as `?word`, which is on no list, so it fails the counting test.
 */
export function noteKeywords(n: { keyword: string; reason: string }): string[] {
  if (/^[0-9a-fA-F.:]+(\/\d+)?$/.test(n.keyword) && /[.:]/.test(n.keyword)) {
    const m = /^options ignored: ([^;]*)/.exec(n.reason);
    if (!m) return [`?${n.keyword}: ${n.reason}`];
    const words = m[1]!.split(/\s+/).filter(Boolean);
    const out: string[] = [];
    for (let i = 0; i < words.length; i++) {
      const w = words[i]!;
      if (VIP_OPTIONS_WITH_VALUE.has(w)) { out.push(`virtual_ipaddress ${w}`); i++; }
      else if (VIP_FLAG_OPTIONS.has(w)) out.push(`virtual_ipaddress ${w}`);
      else out.push(`?${w}`);
    }
    return out;
  }
  if (n.keyword === 'virtual_server' && /virtual_server group|virtual_server_group/.test(n.reason)) return ['virtual_server group'];
  return [n.keyword];
}
