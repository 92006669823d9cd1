// Contract test of the operators' REST API: drives every documented route
// of server/rest/openapi.json against a running eimd and validates each
// response (status documented for the route, media type, body against the
// schema with ajv, JSON Schema 2020-12 as OpenAPI 3.1 uses). Exits 1 on the
// first violation, or when a documented operation was never exercised.
//
// Environment: EIMD_REST_URL (http://host:port), EIMD_REST_KEY_RW,
// EIMD_REST_KEY_RO, EIMD_REST_KEY_OTHER (another tenant), EIMD_REST_EIM_ID,
// EIMD_REST_URL_NODB (optional: an eimd whose database is down, for 503),
// OPENAPI_FILE (optional: validate against this file instead of the served
// document), NODE_PATH (where ajv and ajv-formats are installed).
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';

const require = createRequire(import.meta.url);
const Ajv2020 = require('ajv/dist/2020').default;
const addFormats = require('ajv-formats').default;

const base = process.env.EIMD_REST_URL;
const keys = { rw: process.env.EIMD_REST_KEY_RW, ro: process.env.EIMD_REST_KEY_RO, other: process.env.EIMD_REST_KEY_OTHER };
const eimId = process.env.EIMD_REST_EIM_ID;

const served = await (await fetch(`${base}/openapi.json`)).json();
const doc = process.env.OPENAPI_FILE ? JSON.parse(readFileSync(process.env.OPENAPI_FILE, 'utf8')) : served;
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema(doc, 'doc');

const covered = new Set();
function fail(msg) { console.error(`contract: ${msg}`); process.exit(1); }
function resolve(obj) {
  while (obj && obj.$ref) obj = obj.$ref.slice(2).split('/').reduce((o, k) => o[k], doc);
  return obj;
}
function validator(schema) {
  const text = JSON.stringify(schema).replaceAll('"#/components', '"doc#/components');
  return ajv.compile(JSON.parse(text));
}

async function call(method, target, params, { key = keys.rw, body, headers = {}, expect, url = base } = {}) {
  const template = target.split('?')[0];
  let path = target;
  for (const [k, v] of Object.entries(params || {})) path = path.replace(`{${k}}`, v);
  const h = { ...headers };
  if (key) h.Authorization = `Bearer ${key}`;
  if (body !== undefined && !h['Content-Type']) h['Content-Type'] = 'application/json';
  const res = await fetch(url + path, { method, headers: h, body: body === undefined ? undefined : (typeof body === 'string' ? body : JSON.stringify(body)) });
  const text = await res.text();
  const where = `${method} ${template} -> ${res.status}`;
  if (expect && res.status !== expect) fail(`${where}: expected ${expect}; body ${text}`);
  const op = doc.paths[template]?.[method.toLowerCase()];
  // a method the path does not have: the documented 405 answer applies
  if (!op && !(doc.paths[template] && res.status === 405)) fail(`${where}: route not documented`);
  const documented = resolve(op ? op.responses[String(res.status)] : { $ref: '#/components/responses/MethodNotAllowed' });
  if (!documented) fail(`${where}: status not documented`);
  covered.add(`${method} ${template} ${res.status}`);
  const ctype = (res.headers.get('content-type') || '').split(';')[0];
  if (documented.content) {
    const media = documented.content[ctype];
    if (!media) fail(`${where}: content-type ${ctype} not documented`);
    const validate = validator(media.schema);
    const value = JSON.parse(text);
    if (!validate(value)) fail(`${where}: schema violation ${ajv.errorsText(validate.errors)}; body ${text}`);
    for (const name of Object.keys(documented.headers || {}))
      if ((name === 'Location' || name === 'Retry-After' || name === 'Allow' || name === 'WWW-Authenticate') && !res.headers.get(name))
        fail(`${where}: header ${name} missing`);
    return { status: res.status, body: value, headers: res.headers };
  }
  if (text.length) fail(`${where}: body not documented`);
  return { status: res.status, body: null, headers: res.headers };
}

const hex = (n) => randomBytes(n).toString('hex').toUpperCase();
const eid = hex(16), eid2 = hex(16);
const enable = { kind: 'psmo', parameters: { psmos: [{ enable: { iccid: '89000000000000000001', rollbackFlag: true } }] } };

await call('GET', '/openapi.json', {}, { key: null, expect: 200 });
await call('POST', '/openapi.json', {}, { key: null, expect: 405 });
// eUICCs
await call('POST', '/api/v1/euiccs', {}, { body: { eid, eimId, counterValue: 3 }, expect: 201 });
await call('POST', '/api/v1/euiccs', {}, { body: { eid, eimId }, expect: 200 });
await call('POST', '/api/v1/euiccs', {}, { body: { eid: 'xyz', eimId }, expect: 400 });
await call('POST', '/api/v1/euiccs', {}, { body: { eid: hex(16), eimId: 'no.such.eim' }, expect: 422 });
await call('POST', '/api/v1/euiccs', {}, { body: 'x', headers: { 'Content-Type': 'text/plain' }, expect: 415 });
await call('POST', '/api/v1/euiccs', {}, { key: keys.ro, body: { eid, eimId }, expect: 403 });
await call('POST', '/api/v1/euiccs', {}, { key: keys.other, body: { eid, eimId }, expect: 409 });
await call('PUT', '/api/v1/euiccs', {}, { expect: 405 });
await call('POST', '/api/v1/euiccs/import', {}, { body: { euiccs: [{ eid: eid2, eimId }, { eid: eid2, eimId }, { eid, eimId: 'no.such.eim' }] }, expect: 200 });
await call('POST', '/api/v1/euiccs/import', {}, { body: { euiccs: [] }, expect: 400 });
await call('POST', '/api/v1/euiccs/import', {}, { body: { euiccs: Array.from({ length: 101 }, () => ({ eid: hex(16), eimId })) }, expect: 413 });
await call('GET', '/api/v1/euiccs', {}, { key: keys.ro, expect: 200 });
const first = await call('GET', '/api/v1/euiccs?limit=1', {}, { expect: 200 });
if (first.body.items.length !== 1 || !first.body.nextCursor) fail('paging: expected one item and a cursor');
await call('GET', '/api/v1/euiccs', {}, { key: null, expect: 401 });
await call('GET', '/api/v1/euiccs/{eid}', { eid }, { expect: 200 });
await call('GET', '/api/v1/euiccs/{eid}', { eid }, { key: keys.other, expect: 404 });
// operations
const created = await call('POST', '/api/v1/euiccs/{eid}/operations', { eid }, { body: enable, headers: { 'Idempotency-Key': eid }, expect: 202 });
await call('POST', '/api/v1/euiccs/{eid}/operations', { eid }, { body: enable, headers: { 'Idempotency-Key': eid }, expect: 200 });
await call('POST', '/api/v1/euiccs/{eid}/operations', { eid }, { body: { ...enable, priority: 5 }, headers: { 'Idempotency-Key': eid }, expect: 422 });
await call('POST', '/api/v1/euiccs/{eid}/operations', { eid }, { body: { kind: 'psmo', parameters: { psmos: [{ enable: { iccid: 'x' } }] } }, expect: 400 });
await call('POST', '/api/v1/euiccs/{eid}/operations', { eid: hex(16) }, { body: enable, expect: 404 });
await call('GET', '/api/v1/euiccs/{eid}/operations', { eid }, { expect: 200 });
await call('GET', '/api/v1/euiccs/{eid}/operations', { eid: hex(16) }, { expect: 404 });
const id = created.body.operationId;
await call('GET', '/api/v1/operations/{id}', { id }, { expect: 200 });
await call('GET', '/api/v1/operations/{id}', { id }, { key: keys.other, expect: 404 });
await call('GET', '/api/v1/operations', {}, { expect: 200 });
await call('GET', '/api/v1/operations?status=DONE', {}, { expect: 400 });
await call('POST', '/api/v1/operations/{id}/cancel', { id }, { key: keys.ro, expect: 403 });
await call('POST', '/api/v1/operations/{id}/cancel', { id }, { expect: 200 });
await call('POST', '/api/v1/operations/{id}/cancel', { id }, { expect: 409 });
await call('DELETE', '/api/v1/operations/{id}', { id }, { expect: 405 });
// campaigns
const camp = await call('POST', '/api/v1/campaigns', {}, { body: { eids: [eid, eid2, hex(16)], kind: 'download_trigger', parameters: { smdpAddress: 'smdp.example.com', matchingId: 'M1' } }, expect: 202 });
await call('POST', '/api/v1/campaigns', {}, { body: { eids: [eid] }, expect: 400 });
await call('GET', '/api/v1/campaigns/{id}', { id: camp.body.campaignId }, { expect: 200 });
await call('GET', '/api/v1/campaigns/{id}', { id: camp.body.campaignId }, { key: keys.other, expect: 404 });
// removal: the second eUICC has a queued campaign operation, which is cancelled
await call('DELETE', '/api/v1/euiccs/{eid}', { eid: eid2 }, { expect: 204 });
await call('DELETE', '/api/v1/euiccs/{eid}', { eid: eid2 }, { expect: 404 });
if (process.env.EIMD_REST_URL_NODB)
  await call('GET', '/api/v1/euiccs', {}, { url: process.env.EIMD_REST_URL_NODB, expect: 503 });

for (const [path, item] of Object.entries(doc.paths))
  for (const method of ['get', 'post', 'delete', 'put', 'patch'])
    if (item[method] && ![...covered].some((c) => c.startsWith(`${method.toUpperCase()} ${path} 2`)))
      fail(`${method.toUpperCase()} ${path}: never answered with success`);
console.log(`contract: ${covered.size} (route, status) pairs validated`);
