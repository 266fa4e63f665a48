// The test suite's actor host: serves POST /api/v1/actors/actions over the Spawn wire protocol
// like a real SDK host, with fault modes and call counts for the tests.
//   node host.js [--port N] [--fault MODE] [--register]
// Port: --port, else $HOST_PORT, else $USER_FUNCTION_PORT, else 8090. Fault modes (--fault,
// $HOST_FAULT, or POST /control/fault with the mode as the body): none, garbage (200 with random
// bytes), hang (never answers), slow:<ms> (answers after <ms>), wrong-actor (the response names
// another actor). GET /control/counts answers {"<actor>": calls}; POST /control/reset zeroes
// them. --register (or $HOST_REGISTER=1) registers system $HOST_SYSTEM (default spawn-system)
// with the proxy at $PROXY_HTTP_HOST:$PROXY_HTTP_PORT.
'use strict';
const crypto = require('crypto');
const http = require('http');
const wire = require('./wire');
const { handle } = require('./invoke');
const { register } = require('./register');

// The value of a --name argument, or undefined.
function argument(name) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const port = Number(argument('port') || process.env.HOST_PORT || process.env.USER_FUNCTION_PORT || 8090);
let fault = argument('fault') || process.env.HOST_FAULT || 'none';
const counts = {};

// Answers with a status, a content type and a body.
function answer(res, status, body, type = 'application/octet-stream') {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': body.length });
  res.end(body);
}

// The actor-action endpoint: decode, count, apply the fault mode, handle.
function serveAction(body, res) {
  let invocation;
  try {
    invocation = wire.types.ActorInvocation.decode(body);
  } catch (e) {
    return answer(res, 400, Buffer.alloc(0));
  }
  const name = (invocation.actor && invocation.actor.name) || '';
  counts[name] = (counts[name] || 0) + 1;
  if (fault === 'hang') return;
  if (fault === 'garbage') return answer(res, 200, crypto.randomBytes(64));
  let result;
  try {
    result = handle(invocation);
  } catch (e) {
    return answer(res, 400, Buffer.alloc(0));
  }
  if (fault === 'wrong-actor') result.response.actor_name = `not-${name}`;
  const encoded = Buffer.from(wire.types.ActorInvocationResponse.encode(result.response).finish());
  const delay = fault.startsWith('slow:') ? Number(fault.slice(5)) : 0;
  if (delay > 0) setTimeout(() => answer(res, 200, encoded), delay);
  else answer(res, 200, encoded);
}

// The control endpoints of the tests.
function serveControl(req, body, res) {
  if (req.method === 'GET' && req.url === '/control/counts')
    return answer(res, 200, Buffer.from(JSON.stringify(counts)), 'application/json');
  if (req.method === 'POST' && req.url === '/control/reset') {
    for (const key of Object.keys(counts)) delete counts[key];
    return answer(res, 200, Buffer.from('{}'), 'application/json');
  }
  if (req.method === 'POST' && req.url === '/control/fault') {
    fault = body.toString().trim() || 'none';
    return answer(res, 200, Buffer.from(JSON.stringify({ fault })), 'application/json');
  }
  return answer(res, 404, Buffer.alloc(0));
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    if (req.method === 'POST' && req.url === '/api/v1/actors/actions') return serveAction(body, res);
    return serveControl(req, body, res);
  });
});

server.listen(port, '127.0.0.1', () => {
  console.log(`spawn test host listening on 127.0.0.1:${port} (fault: ${fault})`);
  if (process.argv.includes('--register') || process.env.HOST_REGISTER === '1') {
    register(process.env.HOST_SYSTEM || 'spawn-system').then((ok) => {
      console.log(ok ? 'registered' : 'registration gave up after 60 s');
      if (!ok) process.exitCode = 1;
    });
  }
});
