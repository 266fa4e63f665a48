// One ActorInvocation handled like the Node SDK does: the callback's result becomes an
// ActorInvocationResponse in the spelling the request used; an unknown actor or action answers
// the context unchanged with no payload; updated_context.state is always the given state when
// the callback returned none. A throwing callback throws here (the server answers 400).
'use strict';
const wire = require('./wire');
const { lookup } = require('./actors');

// The spelling of the request: that of its JSON state or payload, v1 when neither tells.
function spellingOf(invocation) {
  const context = invocation.current_context || {};
  return wire.jsonSpelling(context.state) || wire.jsonSpelling(invocation.value) || 'v1';
}

// The response message (a plain object for protobufjs) to one decoded ActorInvocation.
function handle(invocation) {
  const id = invocation.actor || {};
  const context = invocation.current_context || {};
  const spelling = spellingOf(invocation);
  const call = { system: id.system, spelling, stateAny: context.state };
  const response = {
    actor_name: id.name,
    actor_system: id.system,
    updated_context: { ...context, self: context.self || id },
  };
  const actions = lookup(id.name, id.parent);
  const action = actions && actions[invocation.action_name];
  if (!action) return { response, spelling };
  const typedState = context.state && context.state.type_url && !wire.jsonSpelling(context.state);
  const state = typedState ? undefined : wire.fromJsonAny(context.state);
  const result = action(state, wire.fromJsonAny(invocation.value), call) || {};
  if (result.stateAny) response.updated_context.state = result.stateAny;
  else if (result.state !== undefined) response.updated_context.state = wire.jsonAny(result.state, spelling);
  if (result.replyAny) response.value = result.replyAny;
  else if (result.reply !== undefined) response.value = wire.jsonAny(result.reply, spelling);
  else response.noop = {};
  if (result.workflow) response.workflow = result.workflow;
  if (result.checkpoint) response.checkpoint = true;
  return { response, spelling };
}

module.exports = { handle };
