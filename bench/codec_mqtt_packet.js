#!/usr/bin/env node
// npm mqtt-packet on the packets bench_codec.c measures, for a ratio in the same run.
//
//   node bench/codec_mqtt_packet.js [--quick] [--reps N] [--node-dir DIR]
//
// generate() stands for encode, Parser.parse() for decode (the packet event fires
// synchronously); decoding reads the same values bench_codec reads. Median of N slices of CPU
// time.
// Prints the same "RESULT key M-packets/s" lines as bench_codec. Exits 77 if mqtt-packet is
// not installed (scripts/bootstrap.sh installs it in tests/interop/node).
'use strict'

const path = require('path')

let slice = 0.4
let reps = 3
let nodeDir = path.join(__dirname, '..', 'tests', 'interop', 'node')
const argv = process.argv.slice(2)
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--quick') slice = 0.05
  else if (argv[i] === '--reps') reps = parseInt(argv[++i], 10)
  else if (argv[i] === '--node-dir') nodeDir = path.resolve(argv[++i])
  else {
    console.error('usage: codec_mqtt_packet.js [--quick] [--reps N] [--node-dir DIR]')
    process.exit(2)
  }
}

let mqtt, version
try {
  mqtt = require(path.join(nodeDir, 'node_modules', 'mqtt-packet'))
  version = require(path.join(nodeDir, 'node_modules', 'mqtt-packet', 'package.json')).version
} catch (e) {
  console.log(`SKIP: mqtt-packet is not installed in ${nodeDir} (run scripts/bootstrap.sh)`)
  process.exit(77)
}

const payload = Buffer.alloc(64)
for (let i = 0; i < 64; i++) payload[i] = (i * 7 + 1) & 0xff
const pub311 = { cmd: 'publish', topic: 'sensors/t/42', payload, qos: 0, dup: false, retain: false }
const pub5 = {
  ...pub311,
  properties: {
    messageExpiryInterval: 3600,
    contentType: 'application/json',
    userProperties: { unit: 'celsius' }
  }
}
const sub = {
  cmd: 'subscribe',
  messageId: 17,
  subscriptions: [
    { topic: 'sensors/+/temperature', qos: 1 },
    { topic: 'alerts/#', qos: 2 },
    { topic: 'home/kitchen/light', qos: 0 }
  ]
}
const sub5 = { ...sub, properties: {}, subscriptions: sub.subscriptions.map(s => ({ ...s, nl: false, rap: false, rh: 0 })) }

const v4 = { protocolVersion: 4 }
const v5 = { protocolVersion: 5 }
const wire = {
  pub311: mqtt.generate(pub311, v4),
  pub5: mqtt.generate(pub5, v5),
  sub311: mqtt.generate(sub, v4),
  sub5: mqtt.generate(sub5, v5)
}

let sink = 0

function parserFor (opts, read) {
  const p = mqtt.parser(opts)
  p.on('packet', read)
  p.on('error', e => { throw e })
  return p
}
const readPub = pk => { sink += pk.payload.length + pk.topic.length }
const readPub5 = pk => {
  const pr = pk.properties
  sink += pk.payload.length + pr.messageExpiryInterval + pr.contentType.length + pr.userProperties.unit.length
}
const readSub = pk => { for (const s of pk.subscriptions) sink += s.topic.length + s.qos }

const cases = [
  ['pub311_encode', '3.1.1 PUBLISH generate', () => { sink += mqtt.generate(pub311, v4).length }],
  ['pub311_decode', '3.1.1 PUBLISH parse', (() => { const p = parserFor(v4, readPub); return () => p.parse(wire.pub311) })()],
  ['pub5_encode', '5.0 PUBLISH+3 props generate', () => { sink += mqtt.generate(pub5, v5).length }],
  ['pub5_decode', '5.0 PUBLISH+3 props parse, values read', (() => { const p = parserFor(v5, readPub5); return () => p.parse(wire.pub5) })()],
  ['sub311_decode', '3.1.1 SUBSCRIBE x3 parse, entries read', (() => { const p = parserFor(v4, readSub); return () => p.parse(wire.sub311) })()],
  ['sub5_decode', '5.0 SUBSCRIBE x3 parse, entries read', (() => { const p = parserFor(v5, readSub); return () => p.parse(wire.sub5) })()]
]

// CPU time of the process (user + system, so garbage collection counts), not wall time, as in
// bench_codec.c: on a shared machine wall time measures the neighbours too.
function cpu () {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1e6
}

function measure (fn) {
  let batch = 256
  for (;;) { // warm up and size the batch to >= 10 ms
    const t = cpu()
    for (let i = 0; i < batch; i++) fn()
    if (cpu() - t >= 0.01) break
    batch *= 2
  }
  let done = 0
  const start = cpu()
  let el
  do {
    for (let i = 0; i < batch; i++) fn()
    done += batch
    el = cpu() - start
  } while (el < slice)
  return done / el
}

console.log(`# mqtt-packet ${version} on node ${process.version}; median of ${reps} runs of ${slice} s of process CPU time`)
console.log(`# packets: ${wire.pub311.length} / ${wire.pub5.length} / ${wire.sub311.length} / ${wire.sub5.length} bytes`)
const results = []
for (const [key, name, fn] of cases) {
  const r = []
  for (let i = 0; i < reps; i++) r.push(measure(fn))
  r.sort((a, b) => a - b)
  const m = r[Math.floor(reps / 2)] / 1e6
  console.log(`${name.padEnd(42)} ${m.toFixed(2).padStart(10)} M pkt/s`)
  results.push([key, m])
}
for (const [key, m] of results) console.log(`RESULT ${key} ${m.toFixed(3)}`)
if (sink === 42) console.log('') // keep sink alive
