// A client of spawn's HTTP gateway that calls it the way the Node SDK's client API does
// (spawn.invoke(actor, {action, payload, async, ref, scheduledTo, metadata})): InvocationRequest
// posted to http://$PROXY_HTTP_HOST:$PROXY_HTTP_PORT/api/v1/system/{system}/actors/{actor}/invoke
// over kept-alive connections, the InvocationResponse decoded whatever the HTTP status.
//   node client.js invoke '<json>'      one request; prints {"http", "status", "message", "payload", "request_id"}
//       the JSON names system, actor, action, payload, async, ref, scheduled_to, pooled,
//       caller {name, system}, metadata, key (Idempotency-Key)
//   node client.js load '<json>'        {"clients", "requests", ...request}: `requests` invokes
//       spread over `clients` connections, payload {"id": n, "value": 1} each; prints
//       {"ok": [ids answered 200 with status OK], "failed": count}; connection errors are counted
//       as failed and not retried
//   node client.js batch '[<json>, ...]' invocations sent at once, their answers in order
//   node client.js encode '<json>'      the InvocationRequest bytes on stdout
//   node client.js decode Type < bytes  a RegistrationResponse, InvocationResponse or
//       SpawnResponse on stdin as JSON
//   node client.js spawn '<json>'       {"system", "actors": [{name, parent}]}: a SpawnRequest
'use strict';
const fs = require('fs');
const http = require('http');
const wire = require('./wire');

const host = process.env.PROXY_HTTP_HOST || '127.0.0.1';
const port = Number(process.env.PROXY_HTTP_PORT || 9001);
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
const root = wire.types.InvocationRequest.root;
const InvocationResponse = root.lookupType('spawn.InvocationResponse');
const RegistrationResponse = wire.types.RegistrationResponse;
const SpawnResponse = root.lookupType('spawn.SpawnResponse');
const STATUS = ['UNKNOWN', 'OK', 'ACTOR_NOT_FOUND', 'ERROR'];

// The InvocationRequest of a spec, as the SDK builds it.
function invocationRequest(spec) {
  const system = spec.system || 'spawn-system';
  const message = {
    system: { name: system },
    actor: { id: { name: spec.actor, system } },
    action_name: spec.action,
    async: !!spec.async,
    pooled: !!spec.pooled,
    metadata: spec.metadata || {},
  };
  if (spec.payload === undefined) message.noop = {};
  else message.value = wire.jsonAny(spec.payload, spec.spelling || 'v1');
  if (spec.ref) message.register_ref = spec.ref;
  if (spec.scheduled_to) message.scheduled_to = spec.scheduled_to;
  if (spec.caller) message.caller = spec.caller;
  return Buffer.from(wire.types.InvocationRequest.encode(message).finish());
}

// POSTs `body` to `path`; resolves {http, headers, body}.
function post(path, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        host,
        port,
        agent,
        method: 'POST',
        path,
        headers: {
          'Content-Type': 'application/octet-stream',
          Accept: 'application/octet-stream',
          'Content-Length': body.length,
          ...headers,
        },
      },
      (response) => {
        const chunks = [];
        response.on('data', (c) => chunks.push(c));
        response.on('end', () =>
          resolve({ http: response.statusCode, headers: response.headers, body: Buffer.concat(chunks) })
        );
      }
    );
    request.on('error', reject);
    request.end(body);
  });
}

// One invocation; resolves the decoded answer.
async function invoke(spec) {
  const system = spec.system || 'spawn-system';
  const path = `/api/v1/system/${encodeURIComponent(system)}/actors/${encodeURIComponent(spec.actor)}/invoke`;
  const answer = await post(path, invocationRequest(spec), spec.key ? { 'Idempotency-Key': spec.key } : {});
  const decoded = InvocationResponse.decode(answer.body);
  const status = decoded.status || {};
  return {
    http: answer.http,
    status: STATUS[status.status || 0],
    message: status.message || '',
    payload: decoded.value && decoded.value.type_url ? wire.fromJsonAny(decoded.value) : null,
    request_id: answer.headers['x-spawn-request-id'] || null,
  };
}

// `requests` invocations over `clients` concurrent loops; ids that got 200 with OK.
async function load(spec) {
  const ok = [];
  let failed = 0;
  let next = 0;
  const loop = async () => {
    while (next < spec.requests) {
      const id = next++;
      try {
        const answer = await invoke({ ...spec, payload: { id, value: 1 } });
        if (answer.http === 200 && answer.status === 'OK') ok.push(id);
        else failed++;
      } catch (e) {
        failed++;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  };
  await Promise.all(Array.from({ length: spec.clients }, loop));
  return { ok, failed };
}

async function main() {
  const [command, argument] = process.argv.slice(2);
  if (command === 'invoke') console.log(JSON.stringify(await invoke(JSON.parse(argument))));
  else if (command === 'load') console.log(JSON.stringify(await load(JSON.parse(argument))));
  else if (command === 'batch')  // invocations sent all at once; their answers in order
    console.log(JSON.stringify(await Promise.all(JSON.parse(argument).map((spec) => invoke(spec)))));
  else if (command === 'encode') process.stdout.write(invocationRequest(JSON.parse(argument)));
  else if (command === 'spawn') {
    const spec = JSON.parse(argument);
    const body = Buffer.from(
      wire.types.SpawnRequest.encode({
        actors: spec.actors.map((a) => ({ name: a.name, parent: a.parent, system: spec.system })),
      }).finish()
    );
    const answer = await post(`/api/v1/system/${encodeURIComponent(spec.system)}/actors/spawn`, body);
    const status = SpawnResponse.decode(answer.body).status || {};
    console.log(JSON.stringify({ http: answer.http, status: STATUS[status.status || 0], message: status.message || '' }));
  } else if (command === 'decode') {
    const type = { RegistrationResponse, InvocationResponse, SpawnResponse }[argument];
    const decoded = type.decode(fs.readFileSync(0));
    const status = decoded.status || {};
    console.log(JSON.stringify({ status: STATUS[status.status || 0], message: status.message || '' }));
  } else {
    console.error('usage: node client.js invoke|load|batch|encode|spawn <json> | decode <Type> < bytes');
    process.exit(2);
  }
  agent.destroy();
}

main().catch((e) => {
  console.error(e.message);
  process.exit(1);
});
