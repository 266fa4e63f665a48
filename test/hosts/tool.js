// Encoding and decoding from the command line, for shell tests and fuzz seeds:
//   node tool.js invocation '<json>'   ActorInvocation bytes on stdout; the JSON names actor
//       {name, system, parent}, action, state, payload (JSON values) and spelling (v1|v2)
//   node tool.js response < bytes      the ActorInvocationResponse on stdin as JSON, its
//       state and payload unpacked (typed ones as {"@type", "value"} with base64 bytes)
'use strict';
const fs = require('fs');
const wire = require('./wire');

// A JSON or typed Any as a JavaScript value.
function unpack(any) {
  if (!any || !any.type_url) return undefined;
  if (wire.jsonSpelling(any)) return wire.fromJsonAny(any);
  return { '@type': any.type_url, value: Buffer.from(any.value).toString('base64') };
}

// The ActorInvocation described by `spec`.
function invocation(spec) {
  const spelling = spec.spelling || 'v1';
  const message = {
    actor: spec.actor,
    action_name: spec.action,
    current_context: { self: spec.actor, state: spec.state === undefined ? undefined : wire.jsonAny(spec.state, spelling) },
  };
  if (spec.payload === undefined) message.noop = {};
  else message.value = wire.jsonAny(spec.payload, spelling);
  return wire.types.ActorInvocation.encode(message).finish();
}

// The decoded ActorInvocationResponse as plain JSON.
function response(bytes) {
  const decoded = wire.types.ActorInvocationResponse.decode(bytes);
  const context = decoded.updated_context || {};
  return {
    actor_name: decoded.actor_name,
    actor_system: decoded.actor_system,
    state: unpack(context.state),
    state_type_url: context.state ? context.state.type_url : undefined,
    payload: unpack(decoded.value),
    workflow: decoded.workflow ? wire.types.ActorInvocationResponse.fields.workflow.resolvedType.toObject(decoded.workflow, { longs: Number, bytes: String }) : undefined,
  };
}

const [command, argumentText] = process.argv.slice(2);
if (command === 'invocation') process.stdout.write(invocation(JSON.parse(argumentText)));
else if (command === 'response') console.log(JSON.stringify(response(fs.readFileSync(0))));
else {
  console.error('usage: node tool.js invocation <json> | response < bytes');
  process.exit(2);
}
