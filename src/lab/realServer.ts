// A real server of `tandem lab`: a tiny HTTP server started inside its namespace as
//   node dist/src/lab/realServer.js NAME ADDRESS PORT LAB
// GET /health answers 200 (what the directors' http_get checks ask); any other path answers
// `NAME` (so the client sees which server it reached). LAB (the lab's `tlab<pid>`) is only there
// so the lab's processes can be told apart in `ps`. The server exits when the lab process that
// started it is gone (its parent pid changes), so a lab killed with SIGKILL leaves no server
// running for long.
import { createServer } from 'node:http';

const [name = 'rs', address = '0.0.0.0', portText = '80'] = process.argv.slice(2);
const server = createServer((req, res) => {
  const body = req.url === '/health' ? 'ok\n' : `${name}\n`;
  res.writeHead(200, { 'content-type': 'text/plain', 'x-real-server': name, connection: 'close' });
  res.end(body);
});
server.on('error', (e) => {
  process.stderr.write(`${name}: ${e.message}\n`);
  process.exit(1);
});
server.listen(Number(portText), address, () => process.stdout.write(`${name} listening on ${address}:${portText}\n`));

const parent = process.ppid;
setInterval(() => { if (process.ppid !== parent) process.exit(0); }, 1000).unref();
process.on('SIGTERM', () => process.exit(0));
