// pidusage 4.1.0 ships no types (and @types/pidusage describes 2.x); this is the part we use.
declare module 'pidusage' {
  interface PidUsageStatus {
    /** CPU % since the previous call for this pid (100 = one core). */
    cpu: number;
    /** Resident set size, bytes. */
    memory: number;
    ppid: number;
    pid: number;
    /** utime + stime, ms. */
    ctime: number;
    elapsed: number;
    timestamp: number;
  }
  interface PidUsageOptions {
    /** How long (ms) the per-pid history (and its open /proc/PID/stat fd) is kept; must be > 0. */
    maxage?: number;
    usePs?: boolean;
  }
  function pidusage(pid: number, options?: PidUsageOptions): Promise<PidUsageStatus>;
  /** Several pids: a pid that vanished is missing (undefined) instead of failing the call. */
  function pidusage(pids: number[], options?: PidUsageOptions): Promise<Record<string, PidUsageStatus | undefined>>;
  namespace pidusage {
    function clear(): void;
  }
  export = pidusage;
}
