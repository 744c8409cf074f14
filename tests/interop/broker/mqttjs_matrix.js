// Interop: MQTT.js 5.x against mqws-gateway over mqtt:// and ws:// with MQTT 3.1.1 and 5.0.
// For each combination: QoS 0/1/2 delivery, retained, wildcard and shared subscriptions, will
// on abnormal disconnect (the socket is destroyed), session resume with queued QoS 1 messages,
// and (5.0) subscription identifiers and user properties delivered intact.
//
// usage: node mqttjs_matrix.js MQWS_GATEWAY NODE_MODULES_DIR
// Exit 0: all passed; 1: a check failed; 77: the mqtt package is missing (skipped).
// SPDX-License-Identifier: MIT
'use strict';
const path = require('path');
const fs = require('fs');
const os = require('os');
const { spawn } = require('child_process');

const [gwbin, modules] = process.argv.slice(2);
let mqtt;
try {
  mqtt = require(path.resolve(modules, 'mqtt'));
} catch (e) {
  console.log('SKIP: MQTT.js missing (run scripts/bootstrap.sh: npm ci in tests/interop/node)');
  process.exit(77);
}

const WAIT = 5000;
const results = [];
function check(label, ok, detail) {
  results.push([label, !!ok]);
  console.log(`${ok ? 'PASS' : 'FAIL'} mqttjs: ${label}${!ok && detail ? ' (' + detail + ')' : ''}`);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const uid = () => Math.random().toString(16).slice(2, 8);

function startGateway() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqws-gw-js-'));
  const portsFile = path.join(dir, 'ports');
  const log = fs.openSync(path.join(dir, 'gateway.log'), 'w');
  const proc = spawn(gwbin, ['--mqtt-port', '0', '--ws-port', '0', '--ports-file', portsFile],
    { stdio: ['ignore', log, log] });
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const poll = () => {
      if (fs.existsSync(portsFile)) {
        const ports = Object.fromEntries(fs.readFileSync(portsFile, 'utf8').trim().split('\n')
          .map((l) => l.split('=')));
        resolve({ proc, mqtt: +ports.mqtt, ws: +ports.ws, logPath: path.join(dir, 'gateway.log') });
      } else if (proc.exitCode !== null || Date.now() - t0 > 10000) {
        reject(new Error('gateway did not start'));
      } else setTimeout(poll, 20);
    };
    poll();
  });
}

class Client {
  static async open(url, v, opts = {}) {
    const c = new Client();
    c.msgs = [];
    c.waiters = [];
    c.cl = mqtt.connect(url, Object.assign({
      protocolVersion: v, clientId: 'js-' + uid(), reconnectPeriod: 0, connectTimeout: WAIT,
      keepalive: 30,
    }, opts));
    c.cl.on('message', (topic, payload, packet) => {
      c.msgs.push({ topic, payload: payload.toString(), qos: packet.qos, retain: packet.retain,
        properties: packet.properties || {} });
      c.waiters.splice(0).forEach((w) => w());
    });
    c.connack = await new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no CONNACK')), WAIT);
      c.cl.once('connect', (ack) => { clearTimeout(t); resolve(ack); });
      c.cl.once('error', (e) => { clearTimeout(t); reject(e); });
    });
    return c;
  }
  sub(topic, qos, properties) {
    return this.cl.subscribeAsync(topic, properties ? { qos, properties } : { qos });
  }
  pub(topic, msg, opts) { return this.cl.publishAsync(topic, msg, opts); }
  // Wait (up to WAIT) for `expect` messages, then take what arrives until `settle` ms of quiet.
  async drain(settle = 300, expect = 0) {
    const t0 = Date.now();
    while (this.msgs.length < expect && Date.now() - t0 < WAIT) await sleep(20);
    for (;;) {
      const n = this.msgs.length;
      await sleep(settle);
      if (this.msgs.length === n) return this.msgs.splice(0);
    }
  }
  async first(timeout = WAIT) {
    const t0 = Date.now();
    while (!this.msgs.length && Date.now() - t0 < timeout) await sleep(20);
    return this.msgs.shift();
  }
  end() { return this.cl.endAsync().catch(() => {}); }
  kill() { this.cl.stream.destroy(); this.cl.end(true); }
}

async function suite(gw, transport, v) {
  const url = transport === 'ws' ? `ws://127.0.0.1:${gw.ws}/mqtt` : `mqtt://127.0.0.1:${gw.mqtt}`;
  const tag = `${transport} ${v === 5 ? '5.0' : '3.1.1'} `;
  const u = uid();
  const s = await Client.open(url, v);
  const p = await Client.open(url, v);

  await s.sub(`q/${u}`, 2);
  for (const q of [0, 1, 2]) await p.pub(`q/${u}`, `qos${q}`, { qos: q });
  let got = (await s.drain(300, 3)).map((m) => `${m.payload}:${m.qos}`).sort();
  check(tag + 'QoS 0/1/2 delivery', got.join() === 'qos0:0,qos1:1,qos2:2', got.join());

  await p.pub(`r/${u}`, 'old', { qos: 1, retain: true });
  await p.pub(`r/${u}`, 'keep', { qos: 1, retain: true });
  const s2 = await Client.open(url, v);
  await s2.sub(`r/${u}`, 1);
  const rm = await s2.first();
  check(tag + 'retained', rm && rm.payload === 'keep' && rm.retain, JSON.stringify(rm));
  await p.pub(`r/${u}`, '', { qos: 1, retain: true });
  await s2.end();

  await s.sub(`w/${u}/+/x`, 1);
  await s.sub(`w/${u}/m/#`, 1);
  for (const t of [`w/${u}/a/x`, `w/${u}/a/b/x`, `w/${u}/m/1/2`, `w/${u}/z`]) {
    await p.pub(t, t, { qos: 1 });
  }
  got = (await s.drain(300, 2)).map((m) => m.topic).sort();
  check(tag + 'wildcard subscriptions', got.join() === [`w/${u}/a/x`, `w/${u}/m/1/2`].sort().join(),
    got.join());

  const a = await Client.open(url, v);
  const b = await Client.open(url, v);
  await a.sub(`$share/g${u}/sh/${u}`, 1);
  await b.sub(`$share/g${u}/sh/${u}`, 1);
  for (let i = 0; i < 20; i++) await p.pub(`sh/${u}`, String(i), { qos: 1 });
  for (const t0 = Date.now(); a.msgs.length + b.msgs.length < 20 && Date.now() - t0 < WAIT;) {
    await sleep(20);
  }
  const ga = await a.drain(300);
  const gb = await b.drain(100);
  const all = ga.concat(gb).map((m) => +m.payload).sort((x, y) => x - y);
  check(tag + 'shared subscription', all.join() === [...Array(20).keys()].join(),
    `a=${ga.length} b=${gb.length}`);
  await a.end();
  await b.end();

  await s.sub(`will/${u}/#`, 1);
  const wc = await Client.open(url, v, { will: { topic: `will/${u}/a`, payload: 'gone', qos: 1 } });
  const wn = await Client.open(url, v, { will: { topic: `will/${u}/n`, payload: 'never', qos: 1 } });
  await wn.end();
  wc.kill();
  const wm = await s.first();
  const extra = await s.drain(300);
  check(tag + 'will on abnormal disconnect',
    wm && wm.topic === `will/${u}/a` && wm.payload === 'gone' && extra.length === 0,
    JSON.stringify(wm) + ' extra=' + extra.length);

  const cid = 'js-resume-' + u;
  const persist = { clientId: cid, clean: false };
  if (v === 5) persist.properties = { sessionExpiryInterval: 300 };
  let r = await Client.open(url, v, persist);
  await r.sub(`sess/${u}`, 1);
  await r.end();
  await sleep(100);
  for (let i = 0; i < 3; i++) await p.pub(`sess/${u}`, `queued${i}`, { qos: 1 });
  r = await Client.open(url, v, persist);
  got = (await r.drain(300, 3)).map((m) => m.payload);
  check(tag + 'session resume with queued QoS 1',
    r.connack.sessionPresent && got.join() === 'queued0,queued1,queued2',
    `present=${r.connack.sessionPresent} got=${got.join()}`);
  await r.end();
  r = await Client.open(url, v, { clientId: cid, clean: true });
  await r.end();

  if (v === 5) {
    const c = await Client.open(url, v);
    await c.sub(`sid/${u}/#`, 1, { subscriptionIdentifier: 42 });
    await c.sub(`sid/${u}/+`, 1, { subscriptionIdentifier: 7 });
    await p.pub(`sid/${u}/1`, 'props', {
      qos: 1, properties: { userProperties: { k: ['v', 'v2'], 'π': 'ünïcode' }, contentType: 'text/plain' },
    });
    const ms = await c.drain(300, 1);
    const ids = [].concat(...ms.map((m) => [].concat(m.properties.subscriptionIdentifier || [])))
      .sort((x, y) => x - y);
    const ok = ms.length >= 1 && ids.join() === '7,42' && ms.every((m) =>
      JSON.stringify(m.properties.userProperties) === JSON.stringify({ k: ['v', 'v2'], 'π': 'ünïcode' }) &&
      m.properties.contentType === 'text/plain');
    check(tag + 'subscription identifiers and user properties', ok,
      JSON.stringify(ms.map((m) => m.properties)));
    await c.end();
  }
  await s.end();
  await p.end();
}

async function main() {
  const gw = await startGateway();
  const killer = setTimeout(() => {
    console.log('FAIL mqttjs: timed out');
    gw.proc.kill('SIGKILL');
    process.exit(1);
  }, 120000);
  try {
    for (const transport of ['mqtt', 'ws']) {
      for (const v of [4, 5]) {
        try {
          await suite(gw, transport, v);
        } catch (e) {
          check(`${transport} ${v === 5 ? '5.0' : '3.1.1'} suite ran`, false, String(e));
        }
      }
    }
    check('gateway alive', gw.proc.exitCode === null);
  } finally {
    const exited = new Promise((r) => gw.proc.once('exit', (code) => r(code)));
    gw.proc.kill('SIGTERM');
    const code = await Promise.race([exited, sleep(10000).then(() => 'timeout')]);
    if (code === 'timeout') gw.proc.kill('SIGKILL');
    check('SIGTERM exits 0', code === 0, String(code));
    clearTimeout(killer);
  }
  const bad = results.filter((r) => !r[1]);
  console.log(`mqttjs: ${results.length - bad.length} passed, ${bad.length} failed`);
  if (bad.length) {
    console.log('---- gateway log (tail) ----\n' +
      fs.readFileSync(gw.logPath, 'utf8').split('\n').slice(-40).join('\n'));
  }
  process.exit(bad.length ? 1 : 0);
}

main();
