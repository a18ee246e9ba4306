// The browser page in Debian's Chromium, driven by playwright-core (no browser download).
// Started by tests/tests/e2e/browser.rs, which runs a stack and passes:
//   ZTS_BASE_URL     the API's (and the page's) URL
//   ZTS_API_KEY      a key the stack accepts
//   ZTS_SCENARIOS    which tests to run (comma-separated), or "all"
//   ZTS_SCREENSHOTS  where screenshots go (kept as test artifacts)
//   ZTS_CHROMIUM     the browser (default /usr/bin/chromium)
// Project names carry the markers the stack's fault rules match: "slow-advice" (the advice
// step takes 1.5 s), "flaky" (the validator fails once, then succeeds), "doomed" (the
// validator fails for good), "rerun" (the advice fails every attempt of the first run,
// then works).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const BASE = process.env.ZTS_BASE_URL;
const KEY = process.env.ZTS_API_KEY;
const SHOTS = process.env.ZTS_SCREENSHOTS || 'target/browser-screenshots';
const WANTED = (process.env.ZTS_SCENARIOS || 'all').split(',');
const LABEL = process.env.ZTS_LABEL || 'local';
const RUN_TIMEOUT = 30_000;

assert.ok(BASE && KEY, 'ZTS_BASE_URL and ZTS_API_KEY must be set (run through cargo test)');
mkdirSync(SHOTS, { recursive: true });
// Every frame a server sends the page is kept for the AsyncAPI check (asyncapi.test.mjs).
const FRAMES = process.env.ZTS_FRAMES_DIR;
if (FRAMES) mkdirSync(FRAMES, { recursive: true });
const recordFrame = (payload) => {
  if (FRAMES) appendFileSync(join(FRAMES, `browser-${LABEL}.jsonl`), `${String(payload).replace(/\n/g, ' ')}\n`);
};

let browser;
before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.ZTS_CHROMIUM || '/usr/bin/chromium',
    // The machine's network is closed: Chromium's background services would only fail.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});
after(async () => {
  await browser?.close();
});

const scenario = (name, fn) => test(name, { skip: !WANTED.includes('all') && !WANTED.includes(name) }, fn);

// A fresh page that records every console error, uncaught exception and CSP violation.
// `allow`: HTTP statuses the scenario provokes on purpose (Chromium logs each as a console
// error "Failed to load resource").
async function openPage({ viewport = { width: 1200, height: 900 }, withKey = true, allow = [] } = {}) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => {
    const provoked = allow.some((s) => m.text().includes(`status of ${s}`));
    if (m.type() === 'error' && !provoked) problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`exception: ${e.message}`));
  page.on('websocket', (ws) => ws.on('framereceived', (f) => recordFrame(f.payload)));
  await page.addInitScript(() => {
    window.__violations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__violations.push(`${e.violatedDirective} blocked ${e.blockedURI}`);
    });
  });
  if (withKey) {
    await page.addInitScript((key) => localStorage.setItem('zts.apiKey', key), KEY);
  }
  const response = await page.goto(`${BASE}/`);
  assert.equal(response.status(), 200);
  const csp = response.headers()['content-security-policy'];
  assert.match(csp, /script-src 'self'/);
  assert.doesNotMatch(csp, /unsafe-inline/);
  page.clean = async () => {
    const violations = await page.evaluate(() => window.__violations);
    assert.deepEqual([...problems, ...violations], [], 'the page logged errors or CSP violations');
    await context.close();
  };
  return page;
}

async function fillIdea(page, idea) {
  await page.getByLabel('Name', { exact: false }).first().fill(idea.name);
  await page.getByLabel(/^Description/).fill(idea.description ?? '');
  await page.getByLabel(/^Hypothesis/).fill(idea.hypothesis ?? '');
  await page.getByLabel(/^Target customers/).fill((idea.avatars ?? []).join('\n'));
}

const GOOD_IDEA = {
  description: 'Independent bookkeepers spend 6 hours a month chasing receipts from clients; we automate the chase by text message.',
  hypothesis: 'At least 20% of 50 bookkeepers we contact will pre-order at $29/month within 2 weeks.',
  avatars: ['independent bookkeeper', 'small accounting firm'],
};

async function submitAndWait(page, name, state) {
  await fillIdea(page, { ...GOOD_IDEA, name });
  await page.getByRole('button', { name: 'Validate this idea' }).click();
  await page.waitForURL(/#\/projects\/[0-9a-f-]{36}$/);
  await page.waitForFunction((s) => document.body.dataset.state === s, state, { timeout: RUN_TIMEOUT });
}

// The event log holds seq 1..n, each exactly once, in order.
async function seqs(page) {
  return page.$$eval('#event-log li', (items) => items.map((li) => Number(li.dataset.seq)));
}
function assertGapless(list, expected) {
  assert.deepEqual(list, Array.from({ length: list.length }, (_, i) => i + 1), `seqs ${list}`);
  if (expected) assert.equal(list.length, expected);
}

scenario('happy', async () => {
  const page = await openPage({ withKey: false, allow: [401] });
  // A wrong key is refused with the server's reason; the right one is kept.
  await page.getByLabel('API key', { exact: true }).fill('zts_not_a_real_key_000000000000');
  await page.getByRole('button', { name: 'Use this key' }).click();
  await assert.doesNotReject(page.getByText('This key was refused').waitFor());
  await page.getByLabel('API key', { exact: true }).fill(KEY);
  await page.getByRole('button', { name: 'Use this key' }).click();
  await page.getByRole('heading', { name: 'Submit an idea' }).waitFor();
  assert.equal(await page.evaluate(() => localStorage.getItem('zts.apiKey')), KEY);
  assert.ok(!page.url().includes(KEY), 'the key never appears in a URL');

  await submitAndWait(page, `Receipt chaser (${LABEL})`, 'COMPLETED');
  await page.locator('#advisory-plan').waitFor();
  assertGapless(await seqs(page), 6);
  assert.deepEqual(await page.$$eval('.step', (s) => s.map((r) => [r.dataset.step, r.dataset.state])),
    [['validator', 'done'], ['advisory', 'done']]);
  // The artifacts, readable: score bars, findings with quotes, ordered advice, experiments.
  const meters = await page.$$eval('#validation-report [role=meter]', (m) => m.map((x) => Number(x.getAttribute('aria-valuenow'))));
  assert.ok(meters.length >= 5, `score bars: ${meters}`);
  const widths = await page.$$eval('#validation-report .fill', (f) => f.map((x) => x.style.width));
  assert.ok(widths.every((w) => /^\d+%$/.test(w)), `bar widths: ${widths}`);
  assert.ok(await page.locator('#validation-report blockquote.evidence').count() >= 1);
  assert.match(await page.locator('.decision .call').innerText(), /^(Go|Pivot|Stop)$/);
  assert.ok(await page.locator('.recommendations li').count() >= 1);
  assert.ok(await page.locator('.experiment .metric').count() >= 1);
  // An experiment names the assumption it tests, in words.
  assert.match(await page.locator('.experiment .tests').first().innerText(), /^A\d+: \S+/);
  assert.match(await page.locator('#progress-text').innerText(), /Completed: 100%/);
  await page.screenshot({ path: join(SHOTS, `${LABEL}-completed.png`), fullPage: true });
  // The top of it, for the README.
  await page.screenshot({ path: join(SHOTS, `${LABEL}-completed-top.png`), fullPage: true, clip: { x: 0, y: 0, width: 1200, height: 1300 } });
  // The page's files are versioned and kept for a year; the page itself never is.
  const script = await page.$eval('script[type=module]', (s) => s.src);
  assert.match(script, /\/ui\/[0-9a-f]{16}\/app\.js$/);
  const asset = await fetch(script);
  assert.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable');
  assert.equal((await fetch(`${BASE}/`)).headers.get('cache-control'), 'no-store');

  // Home lists it with its state.
  await page.getByRole('link', { name: '← All projects' }).click();
  const row = page.locator('#project-list li', { hasText: `Receipt chaser (${LABEL})` });
  await row.waitFor();
  assert.match(await row.innerText(), /Completed/);
  await page.clean();
});

scenario('workflow', async () => {
  const page = await openPage();
  // The form offers every workflow, the default chosen, and says what each does.
  const offered = await page.$$eval('#workflow option', (o) => o.map((x) => x.value));
  assert.deepEqual(offered, ['idea-to-advice', 'quick-check', 'triage']);
  assert.equal(await page.locator('#workflow').inputValue(), 'idea-to-advice');
  await page.getByLabel('What to run').selectOption('quick-check');
  assert.match(await page.locator('#workflow-help').innerText(), /verdict only/);
  await submitAndWait(page, `Receipt chaser quick (${LABEL})`, 'COMPLETED');
  // The verdict, in four events: no advice step, no plan.
  await page.locator('#validation-report').waitFor();
  assertGapless(await seqs(page), 4);
  assert.deepEqual(await page.$$eval('.step', (s) => s.map((r) => [r.dataset.step, r.dataset.state])),
    [['validator', 'done']]);
  assert.equal(await page.locator('#advisory-plan').count(), 0);
  assert.match(await page.locator('#project-workflow').innerText(), /^quick-check \(version 1\)$/);
  await page.screenshot({ path: join(SHOTS, `${LABEL}-quick-check.png`), fullPage: true });
  await page.clean();
});

scenario('dropped', async () => {
  const page = await openPage();
  let connections = 0;
  let dropped = false;
  // The first connection is cut (as API Gateway's "going away") right after the
  // validator's result reaches the page, while the advice step is still running.
  await page.routeWebSocket((url) => url.protocol === 'ws:' || url.protocol === 'wss:', (ws) => {
    connections += 1;
    const server = ws.connectToServer();
    server.onMessage((message) => {
      ws.send(message);
      if (!dropped && String(message).includes('"step_complete"')) {
        dropped = true;
        ws.close({ code: 1001, reason: 'going away' });
        server.close();
      }
    });
  });
  await submitAndWait(page, 'Receipt chaser slow-advice', 'COMPLETED');
  assert.ok(dropped, 'the connection was cut mid-run');
  assert.ok(connections >= 2, `the page reconnected (${connections} connections)`);
  assertGapless(await seqs(page), 6);
  await page.locator('#advisory-plan').waitFor();
  await page.clean();
});

scenario('transient', async () => {
  const page = await openPage();
  let connections = 0;
  // The first two subscribes fail on the server's side, as asyncapi.json documents them:
  // API Gateway's own frame (the function was throttled), then the server's `unavailable`.
  // Neither subscribe is in effect; the page must subscribe again, not wait or give up.
  const failures = [
    { message: 'Internal server error', connectionId: 'Zx8xLfNfoAMCJ0w=', requestId: 'Zx8xNGq0IAMFdXw=' },
    { event: 'error', error: { code: 'unavailable', message: 'the server could not complete that action; nothing was done: send it again' } },
  ];
  let failed = 0;
  await page.routeWebSocket((url) => url.protocol === 'ws:' || url.protocol === 'wss:', (ws) => {
    connections += 1;
    const failure = failures[connections - 1];
    const server = ws.connectToServer();
    ws.onMessage((message) => {
      if (failure && String(message).includes('"subscribe"')) {
        failed += 1;
        ws.send(JSON.stringify(failure));
        return;
      }
      server.send(message);
    });
  });
  await submitAndWait(page, 'Receipt chaser transient', 'COMPLETED');
  assert.equal(failed, 2, 'both failures were sent');
  assert.ok(connections >= 3, `the page subscribed again (${connections} connections)`);
  assertGapless(await seqs(page), 6);
  await page.locator('#advisory-plan').waitFor();
  await page.clean();
});

scenario('invalid', async () => {
  const page = await openPage({ allow: [422] });
  let posts = 0;
  page.on('request', (r) => {
    if (r.method() === 'POST' && r.url().endsWith('/api/v1/projects')) posts += 1;
  });
  // Over a limit: caught by the page, nothing is sent.
  await fillIdea(page, { name: 'x'.repeat(121) });
  assert.match(await page.locator('#name-count').innerText(), /121 \/ 120/);
  await page.getByRole('button', { name: 'Validate this idea' }).click();
  assert.match(await page.locator('#name-error').innerText(), /the most is 120/);
  assert.equal(await page.getByLabel('Name', { exact: false }).first().getAttribute('aria-invalid'), 'true');
  assert.equal(posts, 0);
  // A character only the server checks: its error lands next to its field.
  await fillIdea(page, { name: 'Dog walks', avatars: ['dog owners', 'cat people <3'] });
  await page.getByRole('button', { name: 'Validate this idea' }).click();
  await page.locator('#target_avatars-error').filter({ hasText: 'Line 2' }).waitFor();
  assert.match(await page.locator('#target_avatars-error').innerText(), /not allowed/);
  assert.equal(await page.locator('#name-error').innerText(), '');
  assert.equal(posts, 1);
  await page.screenshot({ path: join(SHOTS, `${LABEL}-field-error.png`) });
  await page.clean();
});

scenario('failed', async () => {
  const page = await openPage();
  await submitAndWait(page, 'Receipt chaser doomed', 'FAILED');
  const failure = page.locator('#failure');
  assert.ok(await failure.isVisible());
  assert.match(await failure.innerText(), /The run failed: .+\(/);
  assert.equal(await page.locator('.step[data-step=validator]').getAttribute('data-state'), 'failed');
  assert.match(await page.locator('#project-state').innerText(), /Failed/);
  await page.screenshot({ path: join(SHOTS, `${LABEL}-failed.png`), fullPage: true });
  await page.clean();
});

scenario('retried', async () => {
  const page = await openPage();
  await submitAndWait(page, 'Receipt chaser flaky', 'COMPLETED');
  const log = await page.locator('#event-log').textContent();
  assert.match(log, /validator attempt 1 failed, will retry/);
  assert.match(await page.locator('.step[data-step=validator] .step-detail').innerText(), /attempt 2/);
  assertGapless(await seqs(page), 7);
  await page.clean();
});

scenario('rerun', async () => {
  const page = await openPage();
  await submitAndWait(page, 'Receipt chaser rerun', 'FAILED');
  assert.ok(await page.getByRole('button', { name: 'Retry from the failed step' }).isVisible());
  assert.ok(!(await page.getByRole('button', { name: 'Cancel the run' }).isVisible()));
  const failedSeqs = await seqs(page);
  await page.getByRole('button', { name: 'Retry from the failed step' }).click();
  // The view starts over, replays the failed run and follows the new one to its end.
  await page.waitForFunction(() => document.body.dataset.state === 'COMPLETED', null, { timeout: RUN_TIMEOUT });
  const all = await seqs(page);
  assertGapless(all, failedSeqs.length + 4);
  assert.equal(await page.locator('.step[data-step=advisory]').getAttribute('data-state'), 'done');
  assert.ok(!(await page.getByRole('button', { name: 'Retry from the failed step' }).isVisible()));
  await page.locator('.artifact').first().waitFor();
  // Everything stored, as a file.
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download everything (JSON)' }).click(),
  ]);
  assert.match(download.suggestedFilename(), /^zerotoship-[0-9a-f-]{36}\.json$/);
  const chunks = [];
  for await (const chunk of await download.createReadStream()) chunks.push(chunk);
  const exported = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  assert.equal(exported.format, 'zerotoship.project-export');
  assert.equal(exported.events.length, all.length);
  assert.equal(exported.project.earlier_runs[0].state, 'FAILED');
  await page.screenshot({ path: join(SHOTS, `${LABEL}-retried.png`), fullPage: true });
  await page.clean();
});

scenario('cancelled', async () => {
  const page = await openPage();
  await submitAndWait(page, 'Receipt chaser slow-advice cancel', 'ADVISORY');
  await page.getByRole('button', { name: 'Cancel the run' }).click();
  await page.waitForFunction(() => document.body.dataset.state === 'CANCELLED', null, { timeout: RUN_TIMEOUT });
  assert.match(await page.locator('#project-state').innerText(), /Cancelled/);
  assert.ok(!(await page.getByRole('button', { name: 'Cancel the run' }).isVisible()));
  assert.ok(!(await page.getByRole('button', { name: 'Retry from the failed step' }).isVisible()));
  assertGapless(await seqs(page), 5);
  await page.clean();
});

scenario('deleted', async () => {
  const page = await openPage();
  await submitAndWait(page, 'Receipt chaser to forget', 'COMPLETED');
  const id = /#\/projects\/([0-9a-f-]{36})$/.exec(page.url())[1];
  // The page asks once more before anything goes.
  const dialog = page.waitForEvent('dialog');
  const click = page.getByRole('button', { name: 'Delete this project' }).click();
  const asked = await dialog;
  assert.match(asked.message(), /cannot be undone/);
  await asked.accept();
  await click;
  await page.waitForURL(/#\/$/);
  await page.locator('#project-list li').first().waitFor();
  const ids = await page.$$eval('#project-list li', (l) => l.map((x) => x.dataset.project));
  assert.ok(!ids.includes(id), 'the deleted project is not listed');
  const res = await fetch(`${BASE}/api/v1/projects/${id}`, { headers: { 'x-api-key': KEY } });
  assert.equal(res.status, 404);
  await page.clean();
});

scenario('paged', async () => {
  // 21 more projects than fit one page of 20.
  for (let i = 0; i < 21; i += 1) {
    const res = await fetch(`${BASE}/api/v1/projects`, {
      method: 'POST',
      headers: { 'x-api-key': KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ name: `Listed idea ${i}` }),
    });
    assert.equal(res.status, 202);
  }
  const page = await openPage();
  await page.locator('#project-list li').nth(19).waitFor();
  const first = await page.locator('#project-list li').count();
  assert.equal(first, 20);
  await page.getByRole('button', { name: 'Show more' }).click();
  await page.locator('#project-list li').nth(20).waitFor();
  const ids = await page.$$eval('#project-list li', (l) => l.map((x) => x.dataset.project));
  assert.equal(new Set(ids).size, ids.length, 'no project is listed twice');
  await page.clean();
});

scenario('phone', async () => {
  const page = await openPage({ viewport: { width: 375, height: 740 } });
  await submitAndWait(page, 'Receipt chaser on a phone', 'COMPLETED');
  await page.locator('#advisory-plan').waitFor();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow}px at phone width`);
  // Every form control has a label; the progress line is a live region.
  await page.getByRole('link', { name: '← All projects' }).click();
  const unlabelled = await page.$$eval('input, textarea', (els) => els.filter((e) => e.labels.length === 0).map((e) => e.id));
  assert.deepEqual(unlabelled, []);
  assert.equal(await page.locator('#progress-text').getAttribute('aria-live'), 'polite');
  // Text against what is behind it: at least WCAG AA's 4.5:1.
  const low = await page.evaluate(() => {
    const rgb = (c) => (c.match(/[\d.]+/g) || []).map(Number);
    const lum = ([r, g, b]) => {
      const f = (v) => { const x = v / 255; return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4; };
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const behind = (el) => {
      for (let e = el; e; e = e.parentElement) {
        const c = rgb(getComputedStyle(e).backgroundColor);
        if (c.length === 3 || (c.length === 4 && c[3] > 0)) return c.slice(0, 3);
      }
      return [255, 255, 255];
    };
    const out = [];
    for (const el of document.querySelectorAll('label, p, a, button, .badge, .count, h1, h2, li')) {
      if (!el.offsetParent || !el.textContent.trim()) continue;
      const a = lum(rgb(getComputedStyle(el).color).slice(0, 3));
      const b = lum(behind(el));
      const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
      if (ratio < 4.5) out.push(`${el.tagName}.${el.className} ${ratio.toFixed(2)}`);
    }
    return out;
  });
  assert.deepEqual(low, [], 'text below 4.5:1 contrast');
  // Keyboard only: focus the name field, type, tab through, submit with Enter.
  await page.getByLabel('Name', { exact: false }).first().focus();
  await page.keyboard.type('Keyboard idea');
  await page.keyboard.press('Enter');
  await page.waitForURL(/#\/projects\//);
  await page.screenshot({ path: join(SHOTS, `${LABEL}-phone.png`), fullPage: true });
  await page.clean();
});
