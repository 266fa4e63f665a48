// The actors the test host serves, looked up by actor name, then by parent for instances of
// unnamed actors. An action gets (state, payload, invocation) and returns
// { state, reply, workflow } (each optional) or throws. States and payloads are JavaScript
// values of JSON, except the `typed` actor's state: a test.Counter it packs itself.
'use strict';
const wire = require('./wire');

const actors = {
  // The seed's incrementor: add sums payload.value into total; tick counts timer ticks.
  incrementor: {
    add: (state, payload) => {
      const total = ((state && state.total) || 0) + ((payload && payload.value) || 0);
      return { state: { ...(state || {}), total }, reply: { total } };
    },
    get: (state) => ({ reply: state || {} }),
    tick: (state) => ({ state: { ...(state || {}), ticks: ((state && state.ticks) || 0) + 1 } }),
    // Asks spawn for a snapshot of the state as it is.
    save: () => ({ checkpoint: true }),
  },
  // A typed (non-JSON) state: spawn keeps the Any's bytes opaque and passes them back.
  typed: {
    add: (state, payload, call) => {
      const value = wire.fromCounterAny(call.stateAny) + ((payload && payload.value) || 0);
      return { stateAny: wire.counterAny(value), reply: { value } };
    },
    peek: (state, payload, call) => ({ replyAny: call.stateAny }),
  },
  // Replies with the payload's value and pipes that reply to payload.to / payload.action.
  piper: {
    pipe: (state, payload) => ({
      reply: { value: payload.value },
      workflow: { pipe: { actor: payload.to, action_name: payload.action } },
    }),
    forward: (state, payload) => ({
      workflow: { forward: { actor: payload.to, action_name: payload.action } },
    }),
  },
  // Emits a side effect to payload.target / payload.action (after payload.delay_ms) and a
  // broadcast of payload.headline on payload.channel.
  effects: {
    emit: (state, payload, call) => {
      const effect = {
        request: {
          system: { name: call.system },
          actor: { id: { name: payload.target, system: call.system } },
          action_name: payload.action,
          value: wire.jsonAny({ value: 1 }, call.spelling),
          async: true,
          scheduled_to: payload.delay_ms ? Date.now() + payload.delay_ms : 0,
        },
      };
      const broadcast = {
        channel_group: payload.channel,
        value: wire.jsonAny({ headline: payload.headline }, call.spelling),
      };
      return { reply: { emitted: true }, workflow: { effects: [effect], broadcast } };
    },
  },
  // A subscriber of channel "news": keeps every headline it hears.
  listener: {
    receive: (state, payload) => ({
      state: { heard: [...((state && state.heard) || []), payload && payload.headline] },
    }),
  },
  // Every action throws: the host answers 400 with an empty body.
  boom: {
    fail: () => {
      throw new Error('boom');
    },
  },
};

// The actions of an actor, by name or parent; undefined when the host serves neither.
function lookup(name, parent) {
  return actors[name] || actors[parent];
}

module.exports = { actors, lookup };
