// Configs with a marker secret planted in every secret-bearing key, each broken in one way
// (issue 12 §2): wrong type, too long, pattern, duplicate key, a keepalived line pasted into
// YAML, URL credentials, and YAML syntax errors on the secret's line. Shared by the unit test
// (the loader, test/unit/secrets.test.ts) and the integration test (`tandem check`, `tandem run`
// and reloads of a running daemon, test/integration/secrets.test.ts). Every marker is distinct
// and appears nowhere else, so finding one anywhere in an output is a leak.

/** The valid config a case edits: the lines each edit replaces, and the rest. */
export interface BaseConfig {
  /** Lines under `global:` (router_id, status_socket ...). */
  global: string[];
  /** The items of `global.webhooks` (YAML lines, indented 4). */
  webhooks: string[];
  /** The instance's `authentication:` line(s) (indented 4). */
  auth: string;
}

export interface ConfigEdit {
  /** Replaces the instance's authentication line(s). */
  auth?: string;
  /** Replaces every webhook item. */
  webhook?: string;
  /** Added under `global:`. */
  global?: string;
  /** Added to the instance before its authentication line(s). */
  before?: string;
  version?: 2 | 3;
}

export const UNIT_BASE: BaseConfig = {
  global: ['  router_id: lb1'],
  webhooks: ['    - { url: "http://198.51.100.7:8080/hook", secret: a-long-enough-shared-secret }'],
  auth: '    authentication: { auth_type: PASS, auth_pass: Ok5Pass }',
};

export function configText(base: BaseConfig, edit: ConfigEdit = {}): string {
  return [
    'global:',
    ...base.global,
    ...(edit.global ? [edit.global] : []),
    '  webhooks:',
    ...(edit.webhook !== undefined ? [edit.webhook] : base.webhooks),
    'vrrp_instances:',
    '  - name: VI_1',
    '    interface: eth0',
    '    virtual_router_id: 51',
    `    version: ${edit.version ?? 2}`,
    '    priority: 100',
    ...(edit.before ? [edit.before] : []),
    edit.auth ?? base.auth,
    '    virtual_ipaddresses: [192.0.2.100/24]',
    '',
  ].join('\n');
}

export interface SecretCase {
  what: string;
  edit: ConfigEdit;
  /** Planted in a secret key: must appear in no output. */
  markers: string[];
  /** The error (key path and message, after `file:line:col `) that proves the path was taken,
   *  with the secret masked. */
  error: RegExp;
  /** The same error without the masked part: what the unfixed code said there too. */
  taken: RegExp;
  /** Where UNIT_BASE + edit reports it (line:col). */
  unitAt: string;
}

export const SECRET_CASES: SecretCase[] = [
  { what: 'auth_pass a number', edit: { auth: '    authentication: { auth_type: PASS, auth_pass: 73914682 }' }, markers: ['73914682'],
    error: /vrrp_instances\[0\]\.authentication\.auth_pass: expected a password, got a number \(not shown: a secret\)$/m, taken: /authentication\.auth_pass: expected a password, got/, unitAt: '11:51' },
  { what: 'auth_pass too long', edit: { auth: '    authentication: { auth_type: PASS, auth_pass: Kp4Xw9Lm2Q }' }, markers: ['Kp4Xw9Lm2Q'],
    error: /vrrp_instances\[0\]\.authentication\.auth_pass: expected a password of at most 8 characters, got 10$/m, taken: /authentication\.auth_pass: expected a password of at most 8 characters/, unitAt: '11:51' },
  { what: 'auth_pass a list', edit: { auth: '    authentication: { auth_type: PASS, auth_pass: [Ls3Item] }' }, markers: ['Ls3Item'],
    error: /vrrp_instances\[0\]\.authentication\.auth_pass: expected a password, got a list$/m, taken: /authentication\.auth_pass: expected a password, got a list/, unitAt: '11:51' },
  { what: 'auth_pass without its colon (keepalived style) in a flow mapping',
    edit: { auth: '    authentication: { auth_type: PASS, auth_pass Fk2Colon }' }, markers: ['Fk2Colon'],
    error: /vrrp_instances\[0\]\.authentication\.auth_pass \*\*\*: unknown key$/m, taken: /authentication\.auth_pass\b.*: unknown key/, unitAt: '11:40' },
  { what: 'a bare value in the authentication mapping', edit: { auth: '    authentication: { auth_type: PASS, 44417777 }' }, markers: ['44417777'],
    error: /vrrp_instances\[0\]\.authentication\.\(not shown\): unknown key$/m, taken: /authentication\.(?:\S+|\(not shown\)): unknown key/, unitAt: '11:40' },
  { what: 'authentication written as a keepalived line', edit: { auth: '    authentication: "auth_pass Mp6Map"' }, markers: ['Mp6Map'],
    error: /vrrp_instances\[0\]\.authentication: expected a mapping, got "auth_pass \*\*\*"$/m, taken: /vrrp_instances\[0\]\.authentication: expected a mapping, got/, unitAt: '11:21' },
  { what: 'auth_pass twice', edit: { auth: '    authentication:\n      auth_type: PASS\n      auth_pass: Dp1First\n      auth_pass: Dp2Second' },
    markers: ['Dp1First', 'Dp2Second'], error: /vrrp_instances\[0\]\.authentication\.auth_pass: duplicate key$/m, taken: /authentication\.auth_pass: duplicate key/, unitAt: '14:7' },
  { what: 'webhook secret a number', edit: { webhook: '    - { url: "http://198.51.100.7/", secret: 5550192837465 }' }, markers: ['5550192837465'],
    error: /global\.webhooks\[0\]\.secret: expected a secret of at least 16 characters on one line, got a number \(not shown: a secret\)$/m, taken: /webhooks\[0\]\.secret: expected a secret of at least 16 characters/, unitAt: '4:46' },
  { what: 'webhook secret too short', edit: { webhook: '    - { url: "http://198.51.100.7/", secret: Qs7Short }' }, markers: ['Qs7Short'],
    error: /global\.webhooks\[0\]\.secret: expected a secret of at least 16 characters on one line, got 8 characters$/m, taken: /webhooks\[0\]\.secret: expected a secret of at least 16 characters/, unitAt: '4:46' },
  { what: 'webhook secret on two lines (its pattern)', edit: { webhook: '    - { url: "http://198.51.100.7/", secret: "Nl8Line1-abcdefgh\\nNl8Line2" }' },
    markers: ['Nl8Line1', 'Nl8Line2'], error: /global\.webhooks\[0\]\.secret: expected a secret of at least 16 characters on one line, got 26 characters$/m, taken: /webhooks\[0\]\.secret: expected a secret of at least 16 characters/, unitAt: '4:46' },
  { what: 'webhook secret twice', edit: { webhook: '    - url: "http://198.51.100.7/"\n      secret: Ds1-first-secret-value\n      secret: Ds2-second-secret-value' },
    markers: ['Ds1-first', 'Ds2-second'], error: /global\.webhooks\[0\]\.secret: duplicate key$/m, taken: /webhooks\[0\]\.secret: duplicate key/, unitAt: '6:7' },
  { what: 'webhook url with credentials and a bad scheme', edit: { webhook: '    - { url: "ftp://alice:Fu3Pw8Xq@198.51.100.7/x?token=Qt5Tok" }' },
    markers: ['Fu3Pw8Xq', 'Qt5Tok'], error: /global\.webhooks\[0\]\.url: expected an http:\/\/ or https:\/\/ URL, got "ftp:\/\/alice:\*\*\*@198\.51\.100\.7\/x\?token=\*\*\*"$/m, taken: /webhooks\[0\]\.url: expected an http:\/\/ or https:\/\/ URL, got/, unitAt: '4:14' },
  { what: 'webhook url with credentials and a fragment', edit: { webhook: '    - { url: "https://alice:Fr4Pw6Zz@198.51.100.7/#frag" }' },
    markers: ['Fr4Pw6Zz'], error: /global\.webhooks\[0\]\.url: a URL fragment \(#\.\.\.\) is never sent to the server; remove it$/m, taken: /webhooks\[0\]\.url: a URL fragment/, unitAt: '4:14' },
  { what: 'webhook url with credentials, a TLS key on http (a cross-check)', edit: { webhook: '    - { url: "http://bob:Vc2Pw7Yy@198.51.100.7/", verify_certificate: true }' },
    markers: ['Vc2Pw7Yy'], error: /global\.webhooks\[0\]\.verify_certificate: only for https:\/\/ URLs$/m, taken: /webhooks\[0\]\.verify_certificate: only for https:\/\/ URLs/, unitAt: '4:71' },
  { what: 'smtp_server written as a URL with credentials', edit: { global: '  smtp_server: "smtp://mailer:Sm9Pw2Kd@192.0.2.25:587"\n  notification_email: [ops@example.com]' },
    markers: ['Sm9Pw2Kd'], error: /global\.smtp_server: expected "<address or host name> \[<port>\]" .*got "smtp:\/\/mailer:\*\*\*@192\.0\.2\.25:587"$/m, taken: /global\.smtp_server: expected/, unitAt: '3:16' },
  { what: 'YAML syntax: a block scalar header with the secret glued to it', edit: { webhook: '    - url: "http://198.51.100.7/"\n      secret: |Bk8MarkerSecretLong\n        x' },
    markers: ['Bk8Marker'], error: /secret: YAML syntax: UNEXPECTED_TOKEN in the value of secret \(the parser's message is not shown: it quotes the secret value\)$/m, taken: /YAML syntax/, unitAt: '5:16' },
  { what: 'YAML syntax: an invalid escape in a quoted auth_pass', edit: { auth: '    authentication:\n      auth_type: PASS\n      auth_pass: "\\xZZEs7Mk"' },
    markers: ['ZZEs7Mk'], error: /auth_pass: YAML syntax: BAD_DQ_ESCAPE in the value of auth_pass \(the parser's message is not shown: it quotes the secret value\)$/m, taken: /YAML syntax/, unitAt: '13:19' },
  // On main this one showed `Unexpected scalar token in YAML stream: "St8Stray"`: after a stray
  // `]` the parser quotes every token that follows, wherever the error is.
  { what: 'YAML syntax: a stray ] above makes the parser quote every later token, auth_pass too',
    edit: { before: '    unicast_peers: [192.0.2.2]]', auth: '    authentication: { auth_type: PASS, auth_pass: St8Stray }' },
    markers: ['St8Stray'], error: /auth_pass: YAML syntax: UNEXPECTED_TOKEN in the value of auth_pass \(the parser's message is not shown: it quotes the secret value\)$/m, taken: /YAML syntax/, unitAt: '12:51' },
  { what: 'YAML syntax: an unclosed quote on the auth_pass line', edit: { auth: '    authentication:\n      auth_type: PASS\n      auth_pass: "Ys5Quote' },
    markers: ['Ys5Quote'], error: /auth_pass: YAML syntax: MISSING_CHAR in the value of auth_pass/m, taken: /YAML syntax/, unitAt: '15:1' },
];

/** Configs that load with a warning at a secret-bearing key (issue 13 §2: warnings are masked
 *  like errors). `error` is the warning line after `file:line:col `. */
export const SECRET_WARNING_CASES: SecretCase[] = [
  // keepalived (vrrp.c vrrp_complete_instance()) ignores authentication on a VRRPv3 instance.
  { what: 'auth_pass on a VRRPv3 instance (a cross-check that warns)', edit: { auth: '    authentication: { auth_type: PASS, auth_pass: V3pass7 }', version: 3 },
    markers: ['V3pass7'], error: /warning: vrrp_instances\[0\]\.authentication: VRRPv3 has no authentication \(RFC 5798 §9 removed it\): ignored, as keepalived ignores it$/m,
    taken: /vrrp_instances\[0\]\.authentication: VRRPv3 has no authentication/, unitAt: '11:21' },
];

/** keepalived.conf files with a bad auth_pass for `tandem import`, and what its notes say. */
export function keepalivedWithBadAuthPass(): { text: string; markers: string[]; notes: string[] } {
  const inst = (n: number, auth: string) =>
    `vrrp_instance VI_${n} {\n  interface eth0\n  virtual_router_id ${50 + n}\n  authentication {\n${auth}\n  }\n  virtual_ipaddress {\n    192.0.2.${100 + n}/24\n  }\n}\n`;
  return {
    text: [
      inst(1, '    auth_type PASS\n    auth_pass 62803571 Xw7Extra'),
      inst(2, '    auth_type PASS\n    auth_pass Lg5LongPassword'),
      inst(3, '    auth_type PASS\n    auth_pass'),
      inst(4, '    auth_pass Nt6NoTyp'),
      inst(5, '    auth_type AH\n    auth_pass Ah7Pass'),
    ].join(''),
    // Lg5LongP is what the import keeps of Lg5LongPassword (keepalived's 8 characters).
    markers: ['62803571', 'Xw7Extra', 'Lg5LongP', 'Nt6NoTyp', 'Ah7Pass'],
    notes: [
      ':6: auth_pass: only the first word is the password, as in keepalived; ignored: ***',
      ':17: auth_pass: longer than 8 characters: cut to 8, as keepalived does',
      ':28: auth_pass: expected a password: the authentication block is not converted',
      ':37: authentication: has no auth_type: not converted',
      ':48: auth_type: AH is not supported (only PASS: RFC 3768 removed AH)',
    ],
  };
}
