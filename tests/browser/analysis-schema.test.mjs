// The analysis artifacts' JSON Schema (shared/analysis/schema/analysis.schema.json, served
// at /analysis.schema.json): it compiles under draft 2020-12, and every artifact the
// engine wrote for the corpus (recorded under target/analysis-artifacts/ by the end-to-end
// suite) is valid under it. Run by the README's test command after cargo test.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';

const ROOT = join(import.meta.dirname, '..', '..');
const schema = JSON.parse(readFileSync(join(ROOT, 'shared/analysis/schema/analysis.schema.json'), 'utf8'));
const ARTIFACTS = process.env.ZTS_ARTIFACTS_DIR || join(ROOT, 'target/analysis-artifacts');

function compile(def) {
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  ajv.addSchema(schema);
  return { ajv, validate: ajv.compile({ $ref: `${schema.$id}#/$defs/${def}` }) };
}

test('every corpus artifact is valid under the schema', () => {
  assert.ok(existsSync(ARTIFACTS), `no artifacts in ${ARTIFACTS}: run cargo test first`);
  const report = compile('ValidationReport');
  const plan = compile('AdvisoryPlan');
  const files = readdirSync(ARTIFACTS).filter((f) => f.endsWith('.json'));
  let reports = 0;
  let plans = 0;
  for (const file of files) {
    const artifact = JSON.parse(readFileSync(join(ARTIFACTS, file), 'utf8'));
    const { ajv, validate } = file.endsWith('.validation.json') ? report : plan;
    assert.ok(validate(artifact), `${file}: ${ajv.errorsText(validate.errors)}`);
    if (file.endsWith('.validation.json')) reports += 1; else plans += 1;
  }
  assert.ok(reports >= 20 && plans >= 20, `${reports} reports and ${plans} plans recorded`);
  console.log(`${reports} reports and ${plans} plans valid`);
});

test('the schema refuses what the engine never writes', () => {
  const { validate } = compile('AdvisoryPlan');
  const plan = {
    engine: 'x', engine_version: '1.1.0',
    decision: { call: 'maybe', rationale: 'r' },
    recommendations: [], experiments: [], risks: [], next_milestone: 'm',
  };
  assert.equal(validate(plan), false, 'an unknown call');
  plan.decision.call = 'go';
  assert.equal(validate(plan), true);
  plan.extra = 1;
  assert.equal(validate(plan), false, 'an unknown field');
});
