// The Spawn wire protocol for the test host: loads the project's own .proto files
// (src/core/proto) with protobufjs at run time, and packs and unpacks the Any values they carry
// in either package spelling (v1 eigr.functions.protocol, v2 spawn).
'use strict';
const path = require('path');
const protobuf = require('protobufjs');

const protoDir = path.join(__dirname, '..', '..', 'src', 'core', 'proto');
const root = new protobuf.Root();
// Imports resolve against the project's proto folder; google/protobuf/* are protobufjs's own.
root.resolvePath = (origin, target) =>
  target.startsWith('google/protobuf/') || path.isAbsolute(target)
    ? target
    : path.resolve(protoDir, target);
root.loadSync(['spawn_actors.proto', 'spawn_protocol.proto', path.join(__dirname, 'counter.proto')], {
  keepCase: true,
});

const types = {
  ActorInvocation: root.lookupType('spawn.ActorInvocation'),
  ActorInvocationResponse: root.lookupType('spawn.ActorInvocationResponse'),
  RegistrationRequest: root.lookupType('spawn.RegistrationRequest'),
  RegistrationResponse: root.lookupType('spawn.RegistrationResponse'),
  InvocationRequest: root.lookupType('spawn.InvocationRequest'),
  SpawnRequest: root.lookupType('spawn.SpawnRequest'),
  JSONType: root.lookupType('spawn.JSONType'),
  Counter: root.lookupType('test.Counter'),
};

const PACKAGES = { v1: 'eigr.functions.protocol', v2: 'spawn' };
const COUNTER_URL = 'type.googleapis.com/test.Counter';

// The spelling of a JSONType Any, or null when the Any is not JSON.
function jsonSpelling(any) {
  if (!any || !any.type_url) return null;
  const type = any.type_url.slice(any.type_url.lastIndexOf('/') + 1);
  if (type === `${PACKAGES.v1}.JSONType`) return 'v1';
  if (type === `${PACKAGES.v2}.JSONType`) return 'v2';
  return null;
}

// A JavaScript value packed as a JSONType Any in the given spelling.
function jsonAny(value, spelling) {
  return {
    type_url: `type.googleapis.com/${PACKAGES[spelling]}.JSONType`,
    value: types.JSONType.encode({ content: JSON.stringify(value) }).finish(),
  };
}

// The JavaScript value of a JSONType Any (undefined for no Any; throws on other types).
function fromJsonAny(any) {
  if (!any || !any.type_url) return undefined;
  if (!jsonSpelling(any)) throw new Error(`not a JSON value: ${any.type_url}`);
  return JSON.parse(types.JSONType.decode(any.value).content);
}

// A test.Counter packed as a typed Any.
function counterAny(value) {
  return { type_url: COUNTER_URL, value: types.Counter.encode({ value }).finish() };
}

// The number a test.Counter Any holds (0 for no Any).
function fromCounterAny(any) {
  if (!any || !any.type_url) return 0;
  if (any.type_url !== COUNTER_URL) throw new Error(`not a counter: ${any.type_url}`);
  return Number(types.Counter.decode(any.value).value);
}

module.exports = { types, jsonSpelling, jsonAny, fromJsonAny, counterAny, fromCounterAny };
