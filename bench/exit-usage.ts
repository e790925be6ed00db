// Preloaded into a measured agent (node --import): when the process exits, writes its own
// resource usage — CPU of all threads and peak RSS, from getrusage — to the file named by
// LOGSHIP_BENCH_USAGE_FILE. This is the child's usage at exit, which /proc cannot give after
// the process is gone. Does nothing when the variable is unset.

import { writeFileSync } from 'node:fs';

export const USAGE_FILE_ENV = 'LOGSHIP_BENCH_USAGE_FILE';

export interface ExitUsage {
  userSeconds: number;
  systemSeconds: number;
  maxRssMiB: number;
}

const target = process.env[USAGE_FILE_ENV];
if (target) {
  process.on('exit', () => {
    const usage = process.resourceUsage();
    const report: ExitUsage = {
      userSeconds: usage.userCPUTime / 1e6,
      systemSeconds: usage.systemCPUTime / 1e6,
      maxRssMiB: usage.maxRSS / 1024,
    };
    writeFileSync(target, JSON.stringify(report));
  });
}
