// A small HTTP service on Node's standard library.
// `server.js` listens on 8080; `server.js --selftest` asks itself once and prints the answer.
'use strict';
const http = require('node:http');

const server = http.createServer((req, res) => {
  const body = JSON.stringify({ path: req.url, node: process.version });
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
});

if (process.argv.includes('--selftest')) {
  server.listen(0, '127.0.0.1', () => {
    http.get(`http://127.0.0.1:${server.address().port}/hello`, (res) => {
      let data = '';
      res.on('data', (c) => (data += c));
      res.on('end', () => {
        console.log('node-app:', res.statusCode, data);
        server.close();
      });
    });
  });
} else {
  server.listen(8080);
}
