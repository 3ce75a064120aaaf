// VRRP timer arithmetic, in milliseconds. RFC 3768 §6.1 (v2) and RFC 5798 §6.1 (v3).

/** Skew_Time. v2: (256 - Priority) / 256 s. v3: ((256 - Priority) * Master_Adver_Interval) / 256. */
export function skewTimeMs(version: 2 | 3, priority: number, masterAdverIntCs: number): number {
  return version === 2
    ? ((256 - priority) * 1000) / 256
    : ((256 - priority) * masterAdverIntCs * 10) / 256;
}

/** Master_Down_Interval = 3 * Master_Adver_Interval + Skew_Time. */
export function masterDownIntervalMs(version: 2 | 3, priority: number, masterAdverIntCs: number): number {
  return 3 * masterAdverIntCs * 10 + skewTimeMs(version, priority, masterAdverIntCs);
}
