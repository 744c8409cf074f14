// Interop: the Node `ws` client against mqws-ws-echo.
// usage: node node_client.js PATH/TO/mqws-ws-echo NODE_MODULES_DIR
// Exit 0 on success, 1 on failure, 77 if the `ws` package is missing.
// SPDX-License-Identifier: MIT
'use strict';
const { spawn } = require('child_process');
const path = require('path');
const crypto = require('crypto');

let WebSocket;
try {
  WebSocket = require(path.join(process.argv[3], 'ws'));
} catch (e) {
  console.log('SKIP: Node package ws not found (run npm ci in tests/interop/node): ' + e.message);
  process.exit(77);
}

const failures = [];
function check(cond, what) {
  console.log((cond ? 'ok   ' : 'FAIL ') + what);
  if (!cond) failures.push(what);
}
function withTimeout(p, ms, what) {
  return Promise.race([p, new Promise((_, rej) => setTimeout(() => rej(new Error('timeout: ' + what)), ms))]);
}

function startServer(args) {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.argv[2], ['--host', '127.0.0.1', '--port', '0', ...args],
      { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    const t = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error('server did not start')); }, 10000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = /listening on [^\n]*:(\d+)\n/.exec(out);
      if (m) { clearTimeout(t); resolve({ proc, port: Number(m[1]) }); }
    });
    proc.on('exit', () => { clearTimeout(t); reject(new Error('server exited')); });
  });
}

function stopServer(srv) {
  return new Promise((resolve) => {
    if (srv.proc.exitCode !== null) return resolve(srv.proc.exitCode);
    const t = setTimeout(() => srv.proc.kill('SIGKILL'), 5000);
    srv.proc.removeAllListeners('exit');
    srv.proc.on('exit', (code) => { clearTimeout(t); resolve(code); });
    srv.proc.kill('SIGTERM');
  });
}

function connect(port, protocols, opts) {
  return withTimeout(new Promise((resolve, reject) => {
    const ws = new WebSocket('ws://127.0.0.1:' + port + '/', protocols, opts);
    ws.binaryType = 'nodebuffer';
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  }), 5000, 'connect');
}

function nextMessage(ws) {
  return withTimeout(new Promise((resolve) => ws.once('message', (data, isBinary) => resolve({ data, isBinary }))), 10000, 'message');
}

function closed(ws) {
  return withTimeout(new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() }))), 5000, 'close');
}

async function main() {
  const srv = await startServer(['--subprotocol', 'mqtt']);
  try {
    const ws = await connect(srv.port, ['mqtt'], { perMessageDeflate: true, maxPayload: 4 << 20 });
    check(ws.protocol === 'mqtt', 'subprotocol mqtt selected');
    check(ws.extensions === '', 'permessage-deflate declined');
    for (const n of [0, 1, 125, 126, 127, 65535, 65536, 1 << 20]) {
      const payload = crypto.randomBytes(n);
      let p = nextMessage(ws);
      ws.send(payload);
      let m = await p;
      check(m.isBinary && Buffer.compare(m.data, payload) === 0, 'binary ' + n + ' bytes echoed');
      const text = 'ü'.repeat(Math.floor(n / 2));
      p = nextMessage(ws);
      ws.send(text);
      m = await p;
      check(!m.isBinary && m.data.toString() === text, 'text ' + text.length + ' chars echoed');
    }
    let p = nextMessage(ws);
    ws.send('frag', { fin: false });
    ws.send('mented ', { fin: false });
    ws.send('tëxt', { fin: true });
    let m = await p;
    check(m.data.toString() === 'fragmented tëxt', 'fragmented text');
    p = nextMessage(ws);
    ws.send(Buffer.alloc(70000, 7), { fin: false, binary: true });
    ws.send(Buffer.alloc(0), { fin: false, binary: true });
    ws.send(Buffer.from([1, 2]), { fin: true, binary: true });
    m = await p;
    check(m.isBinary && m.data.length === 70002 && m.data[70001] === 2, 'fragmented binary');
    for (const data of [Buffer.alloc(0), Buffer.alloc(125, 1), Buffer.from('ping!')]) {
      const pong = withTimeout(new Promise((resolve) => ws.once('pong', resolve)), 5000, 'pong');
      ws.ping(data);
      const got = await pong;
      check(Buffer.compare(got, data) === 0, 'ping ' + data.length + ' bytes answered');
    }
    const c = closed(ws);
    ws.close(4000, 'bye');
    const r = await c;
    check(r.code === 4000, 'close code 4000 echoed (got ' + r.code + ')');
    for (const code of [1000, 1001, 3000, 4999]) {
      const w = await connect(srv.port, [], {});
      const cc = closed(w);
      w.close(code);
      check((await cc).code === code, 'close code ' + code + ' echoed');
    }
  } finally {
    const rc = await stopServer(srv);
    check(rc === 0, 'server exits 0 on SIGTERM (rc=' + rc + ')');
  }
  console.log(failures.length + ' failures');
  process.exit(failures.length ? 1 : 0);
}

main().catch((e) => { console.log('FAIL ' + e.message); process.exit(1); });
