// Demo writer for scripts/demo.sh: appends a few realistic log lines per second to each file
// given on the command line, so a newcomer sees logship pick them up and ship them.
import { appendFileSync } from 'node:fs';

const files = process.argv.slice(2);
const paths = ['/', '/api/orders', '/api/users/42', '/health', '/static/app.js'];
let n = 0;
setInterval(() => {
  for (const file of files) {
    n++;
    const now = new Date().toISOString();
    const line = file.includes('access')
      ? `127.0.0.1 - - [${now}] "GET ${paths[n % paths.length]} HTTP/1.1" 200 ${100 + (n % 900)}\n`
      : `${now} INFO demo request ${n} handled in ${n % 50} ms\n`;
    appendFileSync(file, line);
  }
}, 200);
