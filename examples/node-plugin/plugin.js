#!/usr/bin/env node
// A hookgate plugin in Node.js. It provides the format "node-example":
//   {"source": "hookgate-node", "event": <type>, "id": <event id>, "data": <event data>}
// and shows everything a plugin in any language needs:
//   1. refuse to run unless hookgate's magic cookie is in the environment;
//   2. serve the hookgate contract (proto/plugin.proto, a copy of hookgate's
//      plugins/sdk/proto/plugin.proto), the gRPC
//      health service (service "plugin" SERVING) and go-plugin's controller;
//   3. print the go-plugin handshake line on stdout:
//      1|<contract version>|tcp|127.0.0.1:<port>|grpc
'use strict';

const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const MAGIC_COOKIE_KEY = 'HOOKGATE_PLUGIN';
const MAGIC_COOKIE_VALUE = '7c1f0b5e-hookgate-plugin-v1';
const PROTOCOL_VERSION = 1;

if (process.env[MAGIC_COOKIE_KEY] !== MAGIC_COOKIE_VALUE) {
  process.stderr.write('This is a hookgate plugin: it is started by hookgate, not by hand.\n');
  process.exit(1);
}

// Every .proto this plugin needs is in its own proto/ directory, so the
// directory works wherever it is copied.
const contract = path.join(__dirname, 'proto', 'plugin.proto');
const options = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };
const load = (file) => grpc.loadPackageDefinition(protoLoader.loadSync(file, options));
const hookgate = load(contract).hookgate.plugin.v1;
const health = load(path.join(__dirname, 'proto', 'health.proto')).grpc.health.v1;
const controller = load(path.join(__dirname, 'proto', 'controller.proto')).plugin;

function outgoing(req) {
  const ev = req.event || {};
  if (req.kind !== 'KIND_FORMAT') {
    throw new Error(`node-example provides no transform ${req.name}`);
  }
  const data = ev.data && ev.data.length ? JSON.parse(ev.data.toString('utf8')) : null;
  const body = { source: 'hookgate-node', event: ev.type, id: ev.id, data };
  if (req.settings && req.settings.prefix) body.prefix = req.settings.prefix;
  return { body: Buffer.from(JSON.stringify(body)), content_type: 'application/json', headers: {} };
}

const server = new grpc.Server();
server.addService(hookgate.Plugin.service, {
  Info(_call, cb) {
    cb(null, { name: 'node-example', version: '1.0.0', formats: ['node-example'], transforms: [],
      event_types: [], needs_confirmation: false, incoming: false });
  },
  Transform(call, cb) {
    try {
      if (call.request.direction !== 'outgoing') {
        cb({ code: grpc.status.UNIMPLEMENTED, message: 'node-example handles no incoming requests' });
        return;
      }
      cb(null, { outgoing: outgoing(call.request.outgoing) });
    } catch (err) {
      cb({ code: grpc.status.INTERNAL, message: String(err.message || err) });
    }
  },
});
server.addService(health.Health.service, {
  Check(call, cb) {
    const known = call.request.service === 'plugin' || call.request.service === '';
    cb(null, { status: known ? 'SERVING' : 'SERVICE_UNKNOWN' });
  },
});
server.addService(controller.GRPCController.service, {
  Shutdown(_call, cb) {
    cb(null, {});
    server.tryShutdown(() => process.exit(0));
  },
});

server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) {
    process.stderr.write(`listen: ${err.message}\n`);
    process.exit(1);
  }
  process.stderr.write(`node-example listening on 127.0.0.1:${port}\n`);
  process.stdout.write(`1|${PROTOCOL_VERSION}|tcp|127.0.0.1:${port}|grpc\n`);
});
