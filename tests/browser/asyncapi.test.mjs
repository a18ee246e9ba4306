// The WebSocket contract (functions/api/contract/asyncapi.json, served at /asyncapi.json):
// the AsyncAPI parser accepts it with no error or warning, and every frame a server sent
// in the end-to-end suite (recorded under target/ws-frames/ by the Rust test kit and the
// browser suite) is valid under the schema of the message its `event` names.
// Run by the README's test command after cargo test.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { Parser } from '@asyncapi/parser';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';

const ROOT = join(import.meta.dirname, '..', '..');
const DOC = join(ROOT, 'functions/api/contract/asyncapi.json');
const FRAMES = process.env.ZTS_FRAMES_DIR || join(ROOT, 'target/ws-frames');
const text = readFileSync(DOC, 'utf8');
const doc = JSON.parse(text);

test('the AsyncAPI parser accepts the document with no error or warning', async () => {
  const { document, diagnostics } = await new Parser().parse(text);
  // Severity 0 is an error, 1 a warning (2 and 3 are information and hints).
  const serious = diagnostics.filter((d) => d.severity <= 1).map((d) => `${d.code}: ${d.message} at ${d.path.join('.')}`);
  assert.deepEqual(serious, []);
  assert.ok(document, 'the parser produced a document');
  assert.equal(document.version().split('.')[0], '3');
});

// Schemas of what the server sends, by `event`; API Gateway's own frame for a failed
// integration (GatewayError) has none and is kept under null.
function serverSchemas() {
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema({ $id: 'doc', components: doc.components }, 'doc');
  const byEvent = new Map();
  for (const [id, op] of Object.entries(doc.operations)) {
    if (op.action !== 'send') continue;
    for (const ref of op.messages) {
      const name = ref.$ref.split('/').pop();
      const schemaRef = doc.components.messages[name].payload.$ref.replace('#', 'doc#');
      const event = doc.components.schemas[schemaRef.split('/').pop()].properties.event?.const ?? null;
      byEvent.set(event, { name, op: id, validate: ajv.compile({ $ref: schemaRef }) });
    }
  }
  return byEvent;
}

test('every example in the document is valid under its own schema', () => {
  const ajv = new Ajv({ strict: false });
  addFormats(ajv);
  ajv.addSchema({ $id: 'doc', components: doc.components }, 'doc');
  for (const [name, message] of Object.entries(doc.components.messages)) {
    const validate = ajv.compile({ $ref: message.payload.$ref.replace('#', 'doc#') });
    for (const example of message.examples) {
      assert.ok(validate(example.payload), `${name}: ${ajv.errorsText(validate.errors)}`);
    }
  }
});

test('every frame the servers sent in the end-to-end suite is valid under the document', () => {
  assert.ok(existsSync(FRAMES), `no frames recorded in ${FRAMES}: run cargo test first`);
  const schemas = serverSchemas();
  const seen = new Map();
  let count = 0;
  for (const file of readdirSync(FRAMES).filter((f) => f.endsWith('.jsonl'))) {
    for (const line of readFileSync(join(FRAMES, file), 'utf8').split('\n')) {
      if (!line.trim()) continue;
      count += 1;
      const frame = JSON.parse(line);
      const schema = schemas.get(frame.event ?? null);
      assert.ok(schema, `${file}: a frame with no message in the document: ${line}`);
      assert.ok(schema.validate(frame), `${file}: ${schema.name}: ${new Ajv().errorsText(schema.validate.errors)}: ${line}`);
      seen.set(frame.event ?? null, (seen.get(frame.event ?? null) || 0) + 1);
    }
  }
  // The suite provokes every kind of frame; one that never appears is a gap in the suite.
  assert.deepEqual([...schemas.keys()].filter((e) => !seen.has(e)), [], `kinds never seen (of ${count} frames)`);
  console.log(`${count} frames valid: ${JSON.stringify(Object.fromEntries(seen))}`);
});
