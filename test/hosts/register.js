// Registration with a proxy, exactly like the Node SDK at start-up: one RegistrationRequest
// (ServiceInfo of nodejs_sdk, protocol 1.1, the registry of actors) posted to
// http://$PROXY_HTTP_HOST:$PROXY_HTTP_PORT/api/v1/system, retried every second for up to 60 s
// until the answer decodes with status OK.
'use strict';
const http = require('http');
const wire = require('./wire');
const { actors } = require('./actors');

const NAMED = 1;
const OK = 1;

// Settings, actions, timers and channels each served actor announces.
const announced = {
  incrementor: { timers: [{ action: 'tick', every_ms: 1000 }] },
  typed: { state_type: 'test.Counter' },
  listener: { channels: [{ topic: 'news', action: 'receive' }] },
};

// The Actor message of one served actor (timer actions only in timer_actions, as the SDK does).
function actorMessage(name, system) {
  const extra = announced[name] || {};
  const timers = (extra.timers || []).map((t) => ({ seconds: t.every_ms, action: { name: t.action } }));
  const timerNames = new Set(timers.map((t) => t.action.name));
  return {
    id: { name, system },
    state: { tags: {} },
    settings: {
      kind: NAMED,
      stateful: true,
      snapshot_strategy: { timeout: { timeout: 10000 } },
      deactivation_strategy: { timeout: { timeout: 30000 } },
      min_pool_size: 1,
      max_pool_size: 0,
      state_type: extra.state_type || 'json',
    },
    actions: Object.keys(actors[name])
      .filter((a) => !timerNames.has(a))
      .map((a) => ({ name: a })),
    timer_actions: timers,
    metadata: { channel_group: extra.channels || [], tags: {} },
  };
}

// The RegistrationRequest of the host's system.
function registrationRequest(system) {
  const registry = {};
  for (const name of Object.keys(actors)) registry[name] = actorMessage(name, system);
  return {
    service_info: {
      service_name: 'nodejs_sdk',
      service_version: process.version,
      service_runtime: `nodejs ${process.version}`,
      support_library_name: 'spawn-test-host',
      support_library_version: '1.0.0',
      protocol_major_version: 1,
      protocol_minor_version: 1,
    },
    actor_system: { name: system, registry: { actors: registry } },
  };
}

// One POST of the request; resolves with the decoded RegistrationResponse.
function postOnce(host, port, body) {
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        host,
        port,
        method: 'POST',
        path: '/api/v1/system',
        headers: {
          'Content-Type': 'application/octet-stream',
          Accept: 'application/octet-stream',
          'Content-Length': body.length,
        },
      },
      (response) => {
        const chunks = [];
        response.on('data', (c) => chunks.push(c));
        response.on('end', () => {
          try {
            resolve(wire.types.RegistrationResponse.decode(Buffer.concat(chunks)));
          } catch (e) {
            reject(e);
          }
        });
      }
    );
    request.on('error', reject);
    request.end(body);
  });
}

// Registers `system`, retrying each second for up to 60 s; resolves true on status OK.
async function register(system) {
  const host = process.env.PROXY_HTTP_HOST || '127.0.0.1';
  const port = Number(process.env.PROXY_HTTP_PORT || 9001);
  const body = Buffer.from(wire.types.RegistrationRequest.encode(registrationRequest(system)).finish());
  for (let attempt = 0; attempt < 60; attempt++) {
    try {
      const answer = await postOnce(host, port, body);
      if (answer.status && answer.status.status === OK) return true;
      console.error(`registration refused: ${answer.status && answer.status.message}`);
    } catch (e) {
      console.error(`registration failed: ${e.message}`);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  return false;
}

module.exports = { register, registrationRequest };
