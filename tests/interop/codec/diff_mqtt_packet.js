#!/usr/bin/env node
// Differential test: mqws codec (through mqws-inspect) against npm mqtt-packet.
//
//   node diff_mqtt_packet.js INSPECT NODE_DIR [--count N] [--seed S] [--verbose]
//
// For protocol levels 3, 4 and 5: generate N random valid packets of every type with
// mqtt-packet, decode the byte stream with `mqws-inspect --hex` and compare every field with
// mqtt-packet's own parse of the same bytes (and again per sender with --from client/server).
// Then the reverse: feed the JSON to `mqws-inspect --encode --hex`, parse our bytes with
// mqtt-packet and compare again. Then packets mqtt-packet wrongly accepts (LOOSER) must be
// rejected with the right statement, and randomly mutated packets that both libraries accept
// must decode to the same fields.
// Deterministic (seeded PRNG), bounded (a few seconds), exits 1 at the first mismatch with a
// field-level diff, 77 when Node's mqtt-packet is not installed.
//
// Accepted differences between the two libraries (everything else is compared exactly):
//  D1 User properties: mqtt-packet's parser returns them as an object keyed by name, so the
//     interleaving of different names is lost (MQTT 5 §3.3.2.3.7 requires the order to be kept,
//     which mqws does). Both sides are compared as name -> [values in order].
//  D2 mqtt-packet's parser turns a repeated user property whose first value is "" into a
//     single value (it tests the previous value for truthiness). The generator gives repeated
//     names non-empty values only; unique names may have empty values.
//  D3 Byte-valued properties (Payload Format Indicator, Request Problem/Response Information,
//     Retain/Wildcard/Subscription Identifier/Shared Subscription Available) are booleans in
//     mqtt-packet and the wire integer in mqws; true <-> 1 and false <-> 0. Only 0 and 1 are
//     valid on the wire (§3.1.2.11.6, §3.2.2.3.5 ...), so nothing is lost.
//  D4 Byte layout: mqtt-packet writes properties in object order, mqws in ascending identifier
//     order (§2.2.2.2 sets no order), and mqtt-packet always writes a DISCONNECT/AUTH reason
//     code and property length that may be omitted (§3.14.2.1, §3.15.2.1). mqws-inspect keeps
//     the sender's layout in "properties_raw" and "tail_form": with them the reverse direction
//     must give back the very same bytes (checked on even packets); without them (odd
//     packets) the encoder picks its own layout and only the fields are compared.
//  D5 mqtt-packet refuses to generate a CONNECT with a password but no user name even at
//     level 5, where §3.1.2.9 allows it; such packets are built by hand below instead.
//  D6 mqtt-packet refuses to parse a 5.0 AUTH with Remaining Length 0, which §3.15.2.1 allows
//     (reason 0x00, no properties); it never generates one, so only mutations can meet it.
'use strict'

const path = require('path')
const { spawnSync } = require('child_process')

const argv = process.argv.slice(2)
if (argv.length < 2) {
  console.error('usage: diff_mqtt_packet.js INSPECT NODE_DIR [--count N] [--seed S] [--verbose]')
  process.exit(2)
}
const inspect = argv[0]
const nodeDir = path.resolve(argv[1])
let count = 3000
let seed = 0x6d717773 // "mqws"
let verbose = false
for (let i = 2; i < argv.length; i++) {
  if (argv[i] === '--count') count = parseInt(argv[++i], 10)
  else if (argv[i] === '--seed') seed = parseInt(argv[++i], 10) >>> 0
  else if (argv[i] === '--verbose') verbose = true
}

let mqtt
try {
  mqtt = require(path.join(nodeDir, 'node_modules', 'mqtt-packet'))
} catch (e) {
  console.log(`SKIP: npm mqtt-packet is not installed in ${nodeDir}/node_modules ` +
    '(run scripts/bootstrap.sh, which runs npm ci there)')
  process.exit(77)
}

// ---------------------------------------------------------------------------------------------
// Deterministic PRNG (mulberry32).
let state = seed >>> 0
function rnd () {
  state = (state + 0x6d2b79f5) >>> 0
  let t = state
  t = Math.imul(t ^ (t >>> 15), t | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}
const int = (lo, hi) => lo + Math.floor(rnd() * (hi - lo + 1)) // inclusive
const chance = p => rnd() < p
const pick = a => a[int(0, a.length - 1)]

// Characters for strings: ASCII, JSON specials, controls (valid but discouraged, §1.5.4),
// 2-, 3- and 4-byte UTF-8 (the last are surrogate pairs in JS and in JSON \u escapes).
const CHARS = [
  ...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.$ ',
  '"', '\\', '\t', '\u0001', '\u007f', 'é', 'ß', 'Ω', '€', '中', '日', '\ufeff', '😀', '𝄞'
]
function str (lo, hi, exclude) {
  let s = ''
  const n = int(lo, hi)
  while (s.length < n) {
    const c = pick(CHARS)
    if (exclude && exclude.includes(c)) continue
    s += c
  }
  return s
}
function bytes (lo, hi) {
  const b = Buffer.alloc(int(lo, hi))
  for (let i = 0; i < b.length; i++) b[i] = int(0, 255)
  return b
}
function payload () {
  if (chance(0.05)) return bytes(128, 20000) // multi-byte remaining length
  return bytes(0, 64)
}
function topicName () { // no wildcards [MQTT-3.3.2-2], at least one character [MQTT-4.7.3-1]
  const levels = []
  const n = int(1, 4)
  for (let i = 0; i < n; i++) levels.push(str(0, 8, ['+', '#', '/']))
  let t = levels.join('/')
  if (t.length === 0) t = 'x'
  return t
}
function topicFilter () { // wildcards only as whole levels, '#' last [MQTT-4.7.1-1..3]
  if (chance(0.05)) return '#'
  const levels = []
  const n = int(1, 4)
  for (let i = 0; i < n; i++) levels.push(chance(0.2) ? '+' : str(0, 8, ['+', '#', '/']))
  if (chance(0.2)) levels.push('#')
  let t = levels.join('/')
  if (t.length === 0) t = 'y'
  return t
}

// User properties as mqtt-packet wants them (D1, D2).
function userProps () {
  const o = {}
  const n = int(1, 4)
  for (let i = 0; i < n; i++) {
    const k = str(0, 6)
    if (chance(0.3)) o[k] = [str(1, 6), str(1, 6)]
    else if (!(k in o)) o[k] = str(0, 6)
  }
  return o
}
const u32 = () => int(0, 0xffffffff)
const u16 = () => int(0, 0xffff)

// Properties allowed per packet (§2.2.2.2), with values valid for a strict receiver.
const PROPGEN = {
  payloadFormatIndicator: () => chance(0.5),
  messageExpiryInterval: u32,
  contentType: () => str(0, 10),
  responseTopic: topicName, // a Topic Name, no wildcards [MQTT-3.3.2-14]
  correlationData: () => bytes(0, 16),
  sessionExpiryInterval: u32,
  assignedClientIdentifier: () => str(1, 10),
  serverKeepAlive: u16,
  authenticationMethod: () => str(1, 10),
  authenticationData: () => bytes(0, 16),
  requestProblemInformation: () => chance(0.5),
  willDelayInterval: u32,
  requestResponseInformation: () => chance(0.5),
  responseInformation: () => str(0, 10),
  serverReference: () => str(0, 10),
  reasonString: () => str(0, 10),
  receiveMaximum: () => int(1, 0xffff), // 0 is a Protocol Error [§3.1.2.11.3]
  topicAliasMaximum: u16,
  topicAlias: () => int(1, 0xffff), // 0 is a Protocol Error [§3.3.2.3.4]
  maximumQoS: () => int(0, 1), // only 0 or 1 may be sent [§3.2.2.3.4]
  retainAvailable: () => chance(0.5),
  userProperties: userProps,
  maximumPacketSize: () => int(1, 0xffffffff), // 0 is a Protocol Error [§3.1.2.11.4]
  wildcardSubscriptionAvailable: () => chance(0.5),
  subscriptionIdentifiersAvailable: () => chance(0.5),
  sharedSubscriptionAvailable: () => chance(0.5)
}
const ALLOWED = {
  connect: ['sessionExpiryInterval', 'receiveMaximum', 'maximumPacketSize', 'topicAliasMaximum',
    'requestResponseInformation', 'requestProblemInformation', 'userProperties',
    'authenticationMethod', 'authenticationData'],
  will: ['willDelayInterval', 'payloadFormatIndicator', 'messageExpiryInterval', 'contentType',
    'responseTopic', 'correlationData', 'userProperties'],
  connack: ['sessionExpiryInterval', 'receiveMaximum', 'maximumQoS', 'retainAvailable',
    'maximumPacketSize', 'assignedClientIdentifier', 'topicAliasMaximum', 'reasonString',
    'userProperties', 'wildcardSubscriptionAvailable', 'subscriptionIdentifiersAvailable',
    'sharedSubscriptionAvailable', 'serverKeepAlive', 'responseInformation', 'serverReference',
    'authenticationMethod', 'authenticationData'],
  publish: ['payloadFormatIndicator', 'messageExpiryInterval', 'topicAlias', 'responseTopic',
    'correlationData', 'userProperties', 'subscriptionIdentifier', 'contentType'],
  ack: ['reasonString', 'userProperties'],
  subscribe: ['subscriptionIdentifier', 'userProperties'],
  unsubscribe: ['userProperties'],
  disconnect: ['sessionExpiryInterval', 'reasonString', 'userProperties', 'serverReference'],
  auth: ['authenticationMethod', 'authenticationData', 'reasonString', 'userProperties']
}
function props (kind) {
  const o = {}
  if (chance(0.25)) return undefined
  for (const name of ALLOWED[kind]) {
    if (!chance(0.35)) continue
    if (name === 'subscriptionIdentifier') {
      // Repeatable in PUBLISH (one per matching subscription), single in SUBSCRIBE.
      const one = () => chance(0.5) ? int(1, 127) : int(1, 268435455)
      o[name] = kind === 'publish' && chance(0.4) ? [one(), one(), one()] : one()
    } else {
      o[name] = PROPGEN[name]()
    }
  }
  // Authentication Data without a method is a Protocol Error [§3.1.2.11.10, §3.15.2.2.3].
  if (o.authenticationData !== undefined && o.authenticationMethod === undefined) {
    o.authenticationMethod = PROPGEN.authenticationMethod()
  }
  return o
}

// Reason codes valid per packet (§2.4, the tables of §3.x).
const RC = {
  connack: [0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8c, 0x90,
    0x95, 0x97, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9f],
  puback: [0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99],
  pubrel: [0x00, 0x92],
  suback: [0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8f, 0x91, 0x97, 0x9e, 0xa1, 0xa2],
  unsuback: [0x00, 0x11, 0x80, 0x83, 0x87, 0x8f, 0x91],
  disconnect: [0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8b, 0x8d, 0x8e, 0x8f, 0x90,
    0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f, 0xa0, 0xa1,
    0xa2],
  auth: [0x00, 0x18, 0x19]
}

function genConnect (v) {
  const p = {
    cmd: 'connect',
    protocolId: v === 3 ? 'MQIsdp' : 'MQTT',
    protocolVersion: v,
    clean: chance(0.5),
    keepalive: u16(),
    // 3.1 needs 1..23 characters; an empty id needs Clean Session [MQTT-3.1.3-7].
    clientId: v === 3 ? str(1, 23).slice(0, 23) : str(0, 23)
  }
  if (p.clientId === '') p.clean = true
  if (v === 3) p.clientId = p.clientId.replace(/[^\x21-\x7e]/g, 'c') || 'c'
  if (chance(0.5)) {
    p.will = { topic: topicName(), payload: bytes(0, 32), qos: int(0, 2), retain: chance(0.5) }
    if (v === 5) {
      p.will.properties = props('will')
      if (p.will.properties && p.will.properties.payloadFormatIndicator) {
        p.will.payload = Buffer.from(str(0, 16)) // UTF-8 when the indicator says so [§3.1.3.2.3]
      }
    }
  }
  if (chance(0.6)) {
    p.username = str(0, 12)
    if (chance(0.6)) p.password = bytes(0, 16)
  }
  if (v === 5) p.properties = props('connect')
  return p
}

function gen (v) {
  const types = ['connect', 'connack', 'publish', 'puback', 'pubrec', 'pubrel', 'pubcomp',
    'subscribe', 'suback', 'unsubscribe', 'unsuback', 'pingreq', 'pingresp', 'disconnect']
  if (v === 5) types.push('auth')
  const cmd = pick(types)
  const id = () => int(1, 0xffff)
  let p
  switch (cmd) {
    case 'connect':
      return genConnect(v)
    case 'connack':
      if (v === 5) {
        const rc = pick(RC.connack)
        // Session Present is 0 with an error code [MQTT-3.2.2-6].
        p = { cmd, reasonCode: rc, sessionPresent: rc < 0x80 && chance(0.5), properties: props('connack') }
      } else {
        const rc = int(0, 5)
        // 3.1 has no Session Present flag; 3.1.1 sets it to 0 with a non-zero code [MQTT-3.2.2-4].
        p = { cmd, returnCode: rc, sessionPresent: v === 4 && rc === 0 && chance(0.5) }
      }
      return p
    case 'publish': {
      const qos = int(0, 2)
      p = { cmd, qos, dup: qos > 0 && chance(0.3), retain: chance(0.5), topic: topicName(), payload: payload() }
      if (qos > 0) p.messageId = id()
      if (v === 5) {
        p.properties = props('publish')
        if (p.properties && p.properties.topicAlias && chance(0.3)) p.topic = '' // §3.3.2.3.4
        if (p.properties && p.properties.payloadFormatIndicator) p.payload = Buffer.from(str(0, 32))
      }
      return p
    }
    case 'puback': case 'pubrec': case 'pubrel': case 'pubcomp':
      p = { cmd, messageId: id() }
      if (v === 5) {
        p.reasonCode = pick(cmd === 'puback' || cmd === 'pubrec' ? RC.puback : RC.pubrel)
        p.properties = props('ack')
      }
      return p
    case 'subscribe': {
      const subs = []
      const n = int(1, 4)
      for (let i = 0; i < n; i++) {
        const s = { topic: topicFilter(), qos: int(0, 2) }
        if (v === 5) {
          s.rap = chance(0.5)
          s.rh = int(0, 2)
          s.nl = chance(0.5)
          if (chance(0.1)) {
            // Shared subscription; No Local is a Protocol Error there [MQTT-3.8.3-4].
            s.topic = '$share/' + str(1, 6, ['+', '#', '/']) + '/' + s.topic
            s.nl = false
          }
        }
        subs.push(s)
      }
      p = { cmd, messageId: id(), subscriptions: subs }
      if (v === 5) p.properties = props('subscribe')
      return p
    }
    case 'suback': {
      const granted = []
      const n = int(1, 5)
      for (let i = 0; i < n; i++) {
        // 3.1 only knows granted QoS 0..2; 0x80 arrived with 3.1.1 (§3.9.3).
        granted.push(v === 5 ? pick(RC.suback) : pick(v === 4 ? [0, 1, 2, 0x80] : [0, 1, 2]))
      }
      p = { cmd, messageId: id(), granted }
      if (v === 5) p.properties = props('ack')
      return p
    }
    case 'unsubscribe': {
      const u = []
      const n = int(1, 4)
      for (let i = 0; i < n; i++) u.push(topicFilter())
      p = { cmd, messageId: id(), unsubscriptions: u }
      if (v === 5) p.properties = props('unsubscribe')
      return p
    }
    case 'unsuback':
      p = { cmd, messageId: id() }
      if (v === 5) {
        p.granted = []
        const n = int(1, 5)
        for (let i = 0; i < n; i++) p.granted.push(pick(RC.unsuback))
        p.properties = props('ack')
      }
      return p
    case 'pingreq': case 'pingresp':
      return { cmd }
    case 'disconnect':
      p = { cmd }
      if (v === 5) {
        p.reasonCode = pick(RC.disconnect)
        p.properties = props('disconnect')
      }
      return p
    case 'auth':
      p = { cmd, reasonCode: pick(RC.auth), properties: props('auth') || {} }
      // Continue/Re-authenticate carry the method (§4.12); keep it always to stay valid.
      if (p.properties.authenticationMethod === undefined) p.properties.authenticationMethod = 'SCRAM'
      return p
  }
  throw new Error('unreachable')
}

// ---------------------------------------------------------------------------------------------
// Canonical form = the mqws-inspect schema minus the human-only members.

const PROPNAMES = {
  payloadFormatIndicator: 'payload_format_indicator',
  messageExpiryInterval: 'message_expiry_interval',
  contentType: 'content_type',
  responseTopic: 'response_topic',
  correlationData: 'correlation_data',
  subscriptionIdentifier: 'subscription_identifiers',
  sessionExpiryInterval: 'session_expiry_interval',
  assignedClientIdentifier: 'assigned_client_identifier',
  serverKeepAlive: 'server_keep_alive',
  authenticationMethod: 'authentication_method',
  authenticationData: 'authentication_data',
  requestProblemInformation: 'request_problem_information',
  willDelayInterval: 'will_delay_interval',
  requestResponseInformation: 'request_response_information',
  responseInformation: 'response_information',
  serverReference: 'server_reference',
  reasonString: 'reason_string',
  receiveMaximum: 'receive_maximum',
  topicAliasMaximum: 'topic_alias_maximum',
  topicAlias: 'topic_alias',
  maximumQoS: 'maximum_qos',
  retainAvailable: 'retain_available',
  userProperties: 'user_properties',
  maximumPacketSize: 'maximum_packet_size',
  wildcardSubscriptionAvailable: 'wildcard_subscription_available',
  subscriptionIdentifiersAvailable: 'subscription_identifier_available',
  sharedSubscriptionAvailable: 'shared_subscription_available'
}

const hex = b => Buffer.from(b).toString('hex')

function groupPairs (pairs) { // D1
  const o = {}
  for (const [k, v] of pairs) (o[k] = o[k] || []).push(v)
  return o
}

function canonPropsMP (p) {
  const o = {}
  if (!p) return o
  for (const [name, value] of Object.entries(p)) {
    const key = PROPNAMES[name]
    if (key === undefined) throw new Error('unknown mqtt-packet property ' + name)
    if (name === 'userProperties') {
      const pairs = []
      for (const [k, v] of Object.entries(value)) {
        for (const x of Array.isArray(v) ? v : [v]) pairs.push([k, x])
      }
      o[key] = groupPairs(pairs)
    } else if (name === 'subscriptionIdentifier') {
      o[key] = Array.isArray(value) ? value : [value]
    } else if (typeof value === 'boolean') {
      o[key] = value ? 1 : 0 // D3
    } else if (Buffer.isBuffer(value)) {
      o[key] = hex(value)
    } else {
      o[key] = value
    }
  }
  return o
}

function canonMP (p, v) {
  const c = { type: p.cmd.toUpperCase() }
  const v5 = v === 5
  switch (p.cmd) {
    case 'connect':
      Object.assign(c, {
        protocol_name: p.protocolId,
        protocol_level: p.protocolVersion,
        clean_start: p.clean,
        keep_alive: p.keepalive,
        client_id: p.clientId
      })
      if (p.will) {
        c.will = { topic: p.will.topic, payload: hex(p.will.payload), qos: p.will.qos, retain: p.will.retain }
        if (v5) c.will.properties = canonPropsMP(p.will.properties)
      }
      if (p.username !== undefined) c.username = p.username
      if (p.password !== undefined) c.password = hex(p.password)
      break
    case 'connack':
      c.session_present = p.sessionPresent
      c.reason_code = v5 ? p.reasonCode : p.returnCode
      break
    case 'publish':
      Object.assign(c, { dup: p.dup, qos: p.qos, retain: p.retain, topic: p.topic })
      if (p.qos > 0) c.packet_id = p.messageId
      c.payload = hex(p.payload)
      break
    case 'puback': case 'pubrec': case 'pubrel': case 'pubcomp':
      c.packet_id = p.messageId
      if (v5) {
        c.reason_code = p.reasonCode
        // What was on the wire after the packet id: nothing, the reason code, or both it and
        // the property length (§3.4.2.1); from mqtt-packet's remaining length.
        c.tail_form = Math.min(p.length - 2, 2)
      }
      break
    case 'subscribe':
      c.packet_id = p.messageId
      c.subscriptions = p.subscriptions.map(s => v5
        ? { filter: s.topic, qos: s.qos, no_local: s.nl, retain_as_published: s.rap, retain_handling: s.rh }
        : { filter: s.topic, qos: s.qos })
      break
    case 'suback':
      c.packet_id = p.messageId
      c.reason_codes = p.granted
      break
    case 'unsubscribe':
      c.packet_id = p.messageId
      c.filters = p.unsubscriptions
      break
    case 'unsuback':
      c.packet_id = p.messageId
      if (v5) c.reason_codes = p.granted
      break
    case 'disconnect': case 'auth':
      if (v5) {
        c.reason_code = p.reasonCode
        c.tail_form = Math.min(p.length, 2) // §3.14.2.1, §3.15.2.1
      }
      break
  }
  if (v5 && p.cmd !== 'pingreq' && p.cmd !== 'pingresp') c.properties = canonPropsMP(p.properties)
  return c
}

function canonInspect (j) {
  const c = JSON.parse(JSON.stringify(j))
  // Human-only members, and properties_raw (the sender's property order, checked by the byte
  // comparison of the reverse direction).
  for (const k of ['offset', 'length', 'flags', 'reason_name', 'reason_names', 'properties_raw']) delete c[k]
  if (c.will) delete c.will.properties_raw
  const fix = pr => {
    if (pr && pr.user_properties) pr.user_properties = groupPairs(pr.user_properties)
  }
  fix(c.properties)
  if (c.will) fix(c.will.properties)
  return c
}

// Stable stringify with sorted keys, and a list of the paths that differ.
function stable (x) {
  if (Array.isArray(x)) return '[' + x.map(stable).join(',') + ']'
  if (x && typeof x === 'object') {
    return '{' + Object.keys(x).sort().map(k => JSON.stringify(k) + ':' + stable(x[k])).join(',') + '}'
  }
  return JSON.stringify(x)
}
function diffPaths (a, b, p = '', out = []) {
  if (stable(a) === stable(b)) return out
  if (a && b && typeof a === 'object' && typeof b === 'object' && Array.isArray(a) === Array.isArray(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)])
    for (const k of keys) diffPaths(a[k], b[k], p + '/' + k, out)
  } else {
    out.push(`${p || '/'}: mqtt-packet ${JSON.stringify(a)} vs mqws ${JSON.stringify(b)}`)
  }
  return out
}

function mpParse (buf, v) {
  const parser = mqtt.parser({ protocolVersion: v })
  const got = []
  let err = null
  parser.on('packet', p => got.push(p))
  parser.on('error', e => { err = e })
  parser.parse(buf)
  if (err) return { err: err.message }
  if (got.length !== 1) return { err: `parsed ${got.length} packets` }
  return { pkt: got[0] }
}

function fail (title, lines) {
  console.log(`MISMATCH: ${title}`)
  for (const l of lines) console.log('  ' + l)
  process.exit(1)
}

// JSON with every non-ASCII character as \u escapes (surrogate pairs for astral ones), so the
// encoder's JSON reader sees both spellings.
function asciiJson (line) {
  return line.replace(/[\u007f-\uffff]/g, ch => '\\u' + ch.charCodeAt(0).toString(16).padStart(4, '0'))
}

// ---------------------------------------------------------------------------------------------

function runInspect (args, input) {
  const r = spawnSync(inspect, args, { input, maxBuffer: 1 << 28, encoding: 'utf8' })
  if (r.error) fail(`cannot run ${inspect}`, [String(r.error)])
  return r
}

// Hand-made packets mqtt-packet cannot generate (D5); byte streams for level 5.
function handMade () {
  // CONNECT 5.0, password flag without user name (0x42: password + clean start).
  const pwOnly = Buffer.from('101400044d5154540542003c000003' + '7a7a7a00027071', 'hex')
  return [pwOnly]
}

// May `p` be sent by a client (dir 'client') or a server? Packet types by sender (§3.x.1
// "sent by"), a Subscription Identifier in PUBLISH only from the server [MQTT-3.3.4-6], Session
// Expiry Interval in DISCONNECT only from the client [MQTT-3.14.2-2], and the sender columns of
// the DISCONNECT (§3.14.2.1) and AUTH (§3.15.2.1) reason code tables.
const CLIENT_ONLY = ['connect', 'subscribe', 'unsubscribe', 'pingreq']
const SERVER_ONLY = ['connack', 'suback', 'unsuback', 'pingresp']
const DISCONNECT_BOTH = [0x00, 0x80, 0x81, 0x82, 0x83, 0x90, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99]
function validFrom (dir, p, v) {
  const pr = p.properties || {}
  if (dir === 'client') {
    if (SERVER_ONLY.includes(p.cmd)) return false
    if (p.cmd === 'publish' && pr.subscriptionIdentifier !== undefined) return false
    if (p.cmd === 'disconnect' && v === 5) {
      if (p.reasonCode !== 0x04 && !DISCONNECT_BOTH.includes(p.reasonCode)) return false
      if (pr.serverReference !== undefined) return false // sent by the Server (§3.14.2.2.5)
    }
    if (p.cmd === 'auth' && p.reasonCode === 0x00) return false
  } else {
    if (CLIENT_ONLY.includes(p.cmd)) return false
    if (p.cmd === 'disconnect' && v < 5) return false // Client to Server only (3.1.1 Table 2.1)
    if (p.cmd === 'disconnect' && v === 5) {
      if (p.reasonCode === 0x04) return false
      if (pr.sessionExpiryInterval !== undefined) return false
    }
    if (p.cmd === 'auth' && p.reasonCode === 0x19) return false
  }
  return true
}

// Places where mqtt-packet is looser than the spec: it parses these, mqws must reject each
// with the statement given (they are not accepted differences, they are the point of a strict
// codec). [level, hex, statement, why]
const LOOSER = [
  [4, '3005 0003 612f2b', 'MQTT-3.3.2-2', 'wildcard in a PUBLISH topic name'],
  [4, '3804 0002 6162', 'MQTT-3.3.1-2', 'DUP set on a QoS 0 PUBLISH'],
  [4, '3205 0001 61 0000', 'MQTT-2.3.1-1', 'packet identifier 0'],
  [4, '3004 0002 c328', 'MQTT-1.5.3-1', 'ill-formed UTF-8 in a topic (mqtt-packet substitutes U+FFFD)'],
  [4, '3005 0003 610062', 'MQTT-1.5.3-2', 'U+0000 in a topic'],
  [4, '3002 0000', 'MQTT-4.7.3-1', 'empty topic name without a Topic Alias'],
  [4, 'a202 0001', 'MQTT-3.10.3-2', 'UNSUBSCRIBE without a topic filter'],
  [4, 'c08000', '§1.5.5', 'remaining length not in the minimum number of bytes'],
  [5, '8212 0001 00 000c 2473686172652f672f612f62 05', 'MQTT-3.8.3-4', 'No Local on a shared subscription'],
  [5, '300c 0001 61 08 030001 61 030001 62', '§2.2.2.2', 'Content Type twice (mqtt-packet returns an array)'],
  [5, '3007 0001 61 03 230000', 'MQTT-3.3.2-8', 'Topic Alias 0']
]
function checkLooser () {
  let mpAccepts = 0
  for (const [v, h, statement, why] of LOOSER) {
    const b = Buffer.from(h.replace(/ /g, ''), 'hex')
    if (!mpParse(b, v).err) mpAccepts++
    const r = runInspect(['--hex', '--level', String(v)], h + '\n')
    const line = r.stdout.trim().split('\n').pop() || ''
    const j = line ? JSON.parse(line) : {}
    if (r.status !== 1 || !j.error || j.statement !== statement) {
      fail(`mqws must reject: ${why} [${statement}]`, [`level ${v}, bytes ${h}`, line, r.stderr])
    }
  }
  return mpAccepts
}

const t0 = Date.now()
const looserAccepted = checkLooser()
const totals = { decoded: 0, encoded: 0, identical: 0 }
for (const v of [3, 4, 5]) {
  const objs = [genConnect(v)]
  for (let i = 1; i < count; i++) objs.push(gen(v))
  const bufs = []
  for (const o of objs) {
    try {
      bufs.push(mqtt.generate(o, { protocolVersion: v }))
    } catch (e) {
      fail(`mqtt-packet cannot generate a v${v} ${o.cmd}`, [e.message, JSON.stringify(o)])
    }
  }
  if (v === 5) bufs.push(...handMade())
  const expected = bufs.map((b, i) => {
    const r = mpParse(b, v)
    if (r.err) fail(`mqtt-packet cannot parse its own v${v} packet #${i}`, [r.err, hex(b)])
    return r.pkt
  })

  // Direction 1: mqtt-packet bytes -> mqws-inspect JSON.
  const stream = bufs.map(hex).join('\n') + '\n'
  const r = runInspect(['--hex', '--keep-going', '--level', String(v)], stream)
  const out = r.stdout.split('\n').filter(l => l.length > 0)
  let offset = 0
  const jsonLines = []
  for (let i = 0; i < bufs.length; i++) {
    const line = out[i]
    const ctx = [`level ${v}, packet #${i}, bytes: ${hex(bufs[i])}`]
    if (line === undefined) fail('mqws-inspect printed fewer lines than packets', ctx.concat([r.stderr]))
    const j = JSON.parse(line)
    if (j.error) fail(`mqws rejects a packet mqtt-packet accepts`, ctx.concat([line, stable(canonMP(expected[i], v))]))
    if (j.offset !== offset || j.length !== bufs[i].length || j.flags !== (bufs[i][0] & 15)) {
      fail('offset/length/flags', ctx.concat([line]))
    }
    if ('reason_name' in j && j.reason_name === null) fail('no reason name for a valid code', ctx.concat([line]))
    if (j.reason_names && j.reason_names.includes(null)) fail('no reason name for a valid code', ctx.concat([line]))
    offset += bufs[i].length
    const want = canonMP(expected[i], v)
    const got = canonInspect(j)
    const d = diffPaths(want, got)
    if (d.length) fail('decode differs', ctx.concat(d, ['mqws: ' + line]))
    // Even lines: as printed (must re-encode to the same bytes). Odd lines: \u-escaped, and
    // without the wire-form hints (properties_raw, tail_form), so the encoder chooses the
    // property order and the short forms itself; those are compared field by field only.
    if (i % 2) {
      const k = JSON.parse(line)
      delete k.properties_raw
      delete k.tail_form
      if (k.will) delete k.will.properties_raw
      jsonLines.push(asciiJson(JSON.stringify(k)))
    } else {
      jsonLines.push(line)
    }
    totals.decoded++
  }
  if (out.length !== bufs.length) fail('mqws-inspect printed more lines than packets', out.slice(bufs.length))

  // The same packets again, split by sender, with the direction rules on (--from): each must
  // decode to the same JSON.
  for (const dir of ['client', 'server']) {
    const idx = []
    for (let i = 0; i < bufs.length; i++) if (validFrom(dir, expected[i], v)) idx.push(i)
    const d = runInspect(['--hex', '--keep-going', '--from', dir, '--level', String(v)],
      idx.map(i => hex(bufs[i])).join('\n') + '\n')
    const lines = d.stdout.split('\n').filter(l => l.length > 0)
    idx.forEach((i, k) => {
      const a = JSON.parse(lines[k] || '{"error":"missing"}')
      const b = JSON.parse(out[i])
      delete a.offset
      delete b.offset
      if (stable(a) !== stable(b)) {
        fail(`--from ${dir} decodes differently`, [`level ${v}, packet #${i}: ${hex(bufs[i])}`, lines[k], out[i]])
      }
    })
    totals[dir] = (totals[dir] || 0) + idx.length
  }

  // Direction 2: JSON -> mqws-inspect --encode -> mqtt-packet parse.
  const e = runInspect(['--encode', '--hex', '--level', String(v)], jsonLines.join('\n') + '\n')
  const encoded = e.stdout.split('\n').filter(l => l.length > 0)
  if (e.status !== 0 || encoded.length !== bufs.length) {
    const i = encoded.length
    fail(`mqws-inspect --encode stopped at line ${i + 1} (exit ${e.status})`,
      [e.stderr.trim(), jsonLines[i] || ''])
  }
  for (let i = 0; i < bufs.length; i++) {
    const ours = Buffer.from(encoded[i], 'hex')
    const ctx = [`level ${v}, packet #${i}`, `mqtt-packet bytes: ${hex(bufs[i])}`, `mqws bytes:        ${encoded[i]}`]
    const rp = mpParse(ours, v)
    if (rp.err) fail('mqtt-packet rejects bytes mqws encoded', ctx.concat([rp.err, jsonLines[i]]))
    const want = canonMP(expected[i], v)
    const got = canonMP(rp.pkt, v)
    if (i % 2) {
      delete want.tail_form
      delete got.tail_form
    }
    const d = diffPaths(want, got)
    if (d.length) fail('encode differs', ctx.concat(d, [jsonLines[i]]))
    if (ours.equals(bufs[i])) totals.identical++
    else if (i % 2 === 0) fail('decode -> encode does not give back the same bytes', ctx.concat([jsonLines[i]]))
    totals.encoded++
  }
  if (verbose) console.log(`level ${v}: ${bufs.length} packets, ${stream.length} hex chars`)
}

// Mutations: flip bytes after the fixed header (and flag bits of the first byte), so the
// framing survives and one stream holds them all. Where both libraries accept a packet, every
// field must agree; where only one accepts, it is tallied (mqtt-packet is looser in the places
// listed in LOOSER and stricter in one: it refuses a 5.0 AUTH with Remaining Length 0, which
// §3.15.2.1 allows). Packets only mqws accepts are printed with --verbose for review.
const mut = { both: 0, neither: 0, onlyMqwsRejects: 0, onlyMpRejects: 0 }
const mutWhy = {}
for (const v of [3, 4, 5]) {
  const bufs = []
  while (bufs.length < Math.floor(count / 3)) {
    const o = gen(v)
    if (o.cmd === 'connect') continue // a CONNECT would switch the level mid-stream
    const b = Buffer.from(mqtt.generate(o, { protocolVersion: v }))
    let hl = 2
    while (b[hl - 1] & 0x80) hl++
    if (b.length === hl) continue
    for (let k = int(1, 2); k > 0; k--) {
      if (chance(0.1)) b[0] ^= 1 << int(0, 3)
      else {
        const pos = int(hl, b.length - 1)
        b[pos] = chance(0.5) ? int(0, 255) : b[pos] ^ (1 << int(0, 7))
      }
    }
    bufs.push(b)
  }
  const r = runInspect(['--hex', '--keep-going', '--level', String(v)], bufs.map(hex).join('\n') + '\n')
  const out = r.stdout.split('\n').filter(l => l.length > 0)
  if (out.length !== bufs.length) fail('mutations: one line per packet expected', [r.stderr])
  bufs.forEach((b, i) => {
    const j = JSON.parse(out[i])
    const mp = mpParse(b, v)
    if (!j.error && !mp.err) {
      mut.both++
      const d = diffPaths(canonMP(mp.pkt, v), canonInspect(j))
      if (d.length) fail('mutated packet: both accept, fields differ', [`level ${v}: ${hex(b)}`].concat(d))
    } else if (j.error && mp.err) {
      mut.neither++
    } else if (j.error) {
      mut.onlyMqwsRejects++
      mutWhy[j.statement] = (mutWhy[j.statement] || 0) + 1
    } else {
      mut.onlyMpRejects++
      if (verbose) console.log(`only mqws accepts (level ${v}): ${hex(b)} (mqtt-packet: ${mp.err})`)
    }
  })
}
if (verbose) {
  console.log('mutated packets only mqws rejects, by statement: ' +
    Object.entries(mutWhy).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', '))
}

const ms = Date.now() - t0
console.log(`mqtt-packet ${require(path.join(nodeDir, 'node_modules', 'mqtt-packet', 'package.json')).version}` +
  ` vs mqws-inspect: decoded ${totals.decoded}, encoded ${totals.encoded} packets identical` +
  ` field by field (levels 3, 4, 5; seed ${seed}); ${totals.identical} of ${totals.encoded}` +
  ` byte-identical (D4: all even ones must be); with direction rules ${totals.client} from` +
  ` clients and ${totals.server} from servers; ${LOOSER.length} invalid packets rejected with` +
  ` the right statement (mqtt-packet accepts ${looserAccepted} of them); mutated packets:` +
  ` ${mut.both} accepted by both with equal fields, ${mut.neither} rejected by both,` +
  ` ${mut.onlyMqwsRejects} only by mqws, ${mut.onlyMpRejects} only by mqtt-packet; ${ms} ms`)
