// End-to-end test of the web dashboard in a real browser (Debian's chromium via playwright-core)
// against the real edumon-api and edumon-worker that run.sh starts. run.sh has already seeded
// the fixture district (seed.mjs); this file checks what a person would see, then submits a new
// figure and checks that the open page shows it without a reload, then stops the API and checks
// that the page says so and recovers.
//
// With a catalog other than tests/browser/fixtures/catalog (no fixture-county district) only the
// catalog-independent checks run: every district is offered and its cards render.

import {after, before, test} from 'node:test';
import assert from 'node:assert/strict';
import {spawn} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {chromium} from 'playwright-core';
import {BASE_URL, OUT_DIR, api, sleep, submit, waitFor} from './lib.mjs';
import {DISTRICT, EXPECTED_2023, EXPECTED_2024, EXPECTED_AFTER_UPDATE, UPDATE} from './fixtures/data.mjs';

const STATUS_ZH = {met: '已达标', on_track: '进度正常', behind: '滞后', no_data: '无数据'};
const STATUS_EN = {met: 'Met', on_track: 'On track', behind: 'Behind', no_data: 'No data'};
const DESKTOP = {width: 1280, height: 900};
const PHONE = {width: 390, height: 844};

let browser;
let context;
let page;
// Which checks apply depends on the catalog being served; decide before registering tests.
const districtList = await api('GET', '/v1/districts');
assert.equal(districtList.status, 200, 'GET /v1/districts');
const districts = districtList.body.districts;
const fixtureMode = districts.some((district) => district.id === DISTRICT);
const consoleErrors = [];
const foreignRequests = [];
const snapshotRequests = [];

function screenshotPath(name) {
  return path.join(OUT_DIR, `${name}.png`);
}

async function newPage(viewport, options = {}) {
  const pageContext = await browser.newContext({viewport, locale: 'zh-CN', timezoneId: 'Asia/Shanghai', ...options});
  const newOne = await pageContext.newPage();
  newOne.on('console', (message) => {
    // A fetch answered 404 (history/balance endpoints a server may not have) is logged by
    // Chromium as a console error; the page handles it, so it is not a page error.
    if (message.type() === 'error' && !/Failed to load resource/.test(message.text())) {
      consoleErrors.push(message.text());
    }
  });
  newOne.on('pageerror', (error) => consoleErrors.push(`pageerror: ${error.message}`));
  newOne.on('request', (request) => {
    if (!request.url().startsWith(BASE_URL) && !request.url().startsWith('data:')) foreignRequests.push(request.url());
    if (request.url().includes('/snapshot')) snapshotRequests.push({url: request.url(), headers: request.headers()});
  });
  return {context: pageContext, page: newOne};
}

async function openDashboard(target, query) {
  await target.goto(`${BASE_URL}/${query}`);
  await target.locator('#main[aria-busy="false"]').waitFor({timeout: 15000});
  await target.locator('[data-indicator]').first().waitFor({timeout: 15000});
}

// Waits until the trimmed text of the first match of `selector` satisfies `want`
// (a string for equality, a RegExp, or a function).
async function expectText(target, selector, want, timeoutMs = 5000) {
  const matches = typeof want === 'string' ? (text) => text === want
    : want instanceof RegExp ? (text) => want.test(text) : want;
  let last = null;
  await waitFor(async () => {
    last = await target.locator(selector).first().textContent({timeout: 500}).catch(() => null);
    return last !== null && matches(last.trim());
  }, {timeoutMs, describe: () => `for ${selector} to be ${want}; it reads ${JSON.stringify(last && last.trim())}`});
}

async function expectCard(target, id, expected, statusNames, timeoutMs) {
  const card = `[data-indicator="${id}"]`;
  await expectText(target, `${card} .num`, expected.value, timeoutMs);
  await expectText(target, `${card} .badge`, statusNames[expected.status], timeoutMs);
  assert.equal(await target.locator(card).getAttribute('data-status'), expected.status, `${id} data-status`);
  if (expected.gap) await expectText(target, `${card} .fact-gap dd`, expected.gap, timeoutMs);
  if (expected.schools) await expectText(target, `${card} .fact-schools dd`, expected.schools, timeoutMs);
  if (expected.expected) await expectText(target, `${card} .fact-expected dd`, (text) => text.startsWith(expected.expected), timeoutMs);
}

before(async () => {
  fs.mkdirSync(OUT_DIR, {recursive: true});
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--no-first-run', '--disable-sync'],
  });
  ({context, page} = await newPage(DESKTOP));
});

after(async () => {
  if (browser) await browser.close();
});

test('the API serves the page and its assets with the right content types', async () => {
  const expectations = [
    ['/', /^text\/html/],
    ['/assets/app.js', /^(text|application)\/javascript/],
    ['/assets/api.js', /^(text|application)\/javascript/],
    ['/assets/style.css', /^text\/css/],
    ['/assets/favicon.svg', /^image\/svg\+xml/],
  ];
  for (const [url, type] of expectations) {
    const response = await fetch(`${BASE_URL}${url}`);
    assert.equal(response.status, 200, `GET ${url}`);
    assert.match(response.headers.get('content-type') || '', type, `Content-Type of ${url}`);
    await response.arrayBuffer();
  }
  const missing = await fetch(`${BASE_URL}/assets/no-such-file.js`);
  assert.equal(missing.status, 404, 'unknown asset');
  const traversal = await fetch(`${BASE_URL}/assets/..%2F..%2Fetc%2Fpasswd`);
  assert.notEqual(traversal.status, 200, 'path traversal out of the web directory');
});

test('the district picker offers every district of the catalog', async () => {
  await openDashboard(page, fixtureMode ? `?district=${DISTRICT}` : '');
  const options = await page.locator('#district option').allTextContents();
  assert.deepEqual(options, districts.map((district) => district.name));
  const snapshot = (await api('GET', `/v1/districts/${districts[0].id}/snapshot`)).body;
  if (!fixtureMode) {
    assert.equal(await page.locator('[data-indicator]').count(), snapshot.indicators.length);
    await page.screenshot({path: screenshotPath('desktop-zh'), fullPage: true});
  }
});

test('shows the figures, targets and statuses worked out by hand (zh)', {skip: !fixtureMode && 'not the fixture catalog'}, async () => {
  await openDashboard(page, `?district=${DISTRICT}&period=2024`);
  await expectText(page, '#district-name', '示例县');
  for (const [id, expected] of Object.entries(EXPECTED_2024)) {
    await expectCard(page, id, expected, STATUS_ZH);
  }
  await expectText(page, '[data-indicator="kg_inclusive_share"] .fact-target dd', '≥ 92%（2025年）');
  await expectText(page, '[data-indicator="new_school_places"] .fact-target dd', '≥ 1,200个（2025年）');
  // Completeness and the summary follow the served snapshot.
  const snapshot = (await api('GET', `/v1/districts/${DISTRICT}/snapshot?period=2024`)).body;
  const {reported, expected} = snapshot.completeness;
  await expectText(page, '#completeness-text', (text) => text.startsWith(`${reported} / ${expected}`));
  await expectText(page, '#summary [data-status="on_track"] .chip-count', '2');
  await expectText(page, '#summary [data-status="behind"] .chip-count', '1');
  await expectText(page, '#connection', '实时');
  assert.equal(await page.locator('#banner').isVisible(), false, 'no banner while connected');
  await page.screenshot({path: screenshotPath('desktop-zh'), fullPage: true});
});

test('the status chips filter the cards', {skip: !fixtureMode && 'not the fixture catalog'}, async () => {
  await page.click('#summary [data-status="on_track"] button');
  const visible = () => page.locator('[data-indicator]:visible').evaluateAll((cards) => cards.map((card) => card.dataset.indicator));
  assert.deepEqual(await visible(), ['kg_inclusive_share', 'avg_class_size']);
  assert.equal(await page.getAttribute('#summary [data-status="on_track"] button', 'aria-pressed'), 'true');
  await page.click('#summary [data-status="on_track"] button');
  assert.equal((await visible()).length, Object.keys(EXPECTED_2024).length);
});

test('trend lines and the balance panel follow what the server offers', {skip: !fixtureMode && 'not the fixture catalog'}, async () => {
  const history = await api('GET', `/v1/districts/${DISTRICT}/history?indicator=kg_inclusive_share`);
  const trends = page.locator('[data-indicator="kg_inclusive_share"] .trend svg');
  if (history.status === 200) {
    // 2023 and 2024 both have a value: the by-year line has two points.
    await waitFor(async () => (await trends.count()) >= 1, {timeoutMs: 5000, describe: () => 'for a trend line'});
    const label = await trends.first().getAttribute('aria-label');
    assert.match(label, /2023 76%.*2024 90%/, 'the by-year trend reads 2023 76 %, 2024 90 %');
  } else {
    assert.equal(history.status, 404, 'history answers 200 or 404');
    assert.equal(await trends.count(), 0, 'no trend without a history endpoint');
  }
  const balance = await api('GET', `/v1/districts/${DISTRICT}/balance?period=2024`);
  if (balance.status === 200 && balance.body && balance.body.stages) {
    await page.locator('#balance').waitFor({state: 'visible', timeout: 5000});
  } else {
    assert.equal(await page.locator('#balance').isVisible(), false, 'no balance panel without the endpoint');
  }
});

test('the period picker switches to 2023', {skip: !fixtureMode && 'not the fixture catalog'}, async () => {
  await page.selectOption('#period', '2023');
  await expectCard(page, 'kg_inclusive_share', EXPECTED_2023.kg_inclusive_share, STATUS_ZH);
  assert.match(page.url(), /period=2023/);
  await page.selectOption('#period', '2024');
  await expectCard(page, 'kg_inclusive_share', EXPECTED_2024.kg_inclusive_share, STATUS_ZH);
});

test('switches to English and back', async () => {
  const district = fixtureMode ? districts.find((d) => d.id === DISTRICT) : districts[0];
  await page.click('#lang');
  await expectText(page, '#district-name', district.name_en || district.name);
  await expectText(page, '#lang', '中文');
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'en');
  if (fixtureMode) {
    for (const [id, expected] of Object.entries(EXPECTED_2024)) {
      await expectText(page, `[data-indicator="${id}"] .badge`, STATUS_EN[expected.status]);
    }
    await expectText(page, '[data-indicator="kg_inclusive_share"] .fact-gap dd', '2 pp short of target');
    await expectText(page, '[data-indicator="new_school_places"] .num', '1,250');
  }
  await page.screenshot({path: screenshotPath('desktop-en'), fullPage: true});
  await page.click('#lang');
  await expectText(page, '#lang', 'English');
});

test('long-polls the snapshot with If-None-Match and wait=25', async () => {
  await waitFor(() => snapshotRequests.some((request) => request.headers['if-none-match'] && /[?&]wait=25\b/.test(request.url)),
    {timeoutMs: 5000, describe: () => JSON.stringify(snapshotRequests.slice(-3))});
});

test('a new submission shows on the open page within seconds, without a reload', {skip: !fixtureMode && 'not the fixture catalog'}, async () => {
  const tokens = JSON.parse(fs.readFileSync(path.join(OUT_DIR, 'tokens.json'), 'utf8'));
  let navigations = 0;
  page.on('framenavigated', (frame) => {
    if (frame === page.mainFrame()) navigations++;
  });
  await page.evaluate(() => {
    window.edumonTestMarker = 'still the same page';
  });
  await sleep(500); // let the page settle into its long-poll
  const started = Date.now();
  await submit(DISTRICT, UPDATE.school, tokens[UPDATE.school], UPDATE.period, UPDATE.values);
  const applied = Date.now();
  await expectCard(page, 'mh_teacher_coverage', EXPECTED_AFTER_UPDATE.mh_teacher_coverage, STATUS_ZH, 5000);
  const shown = Date.now();
  console.log(`# live update: accepted→applied ${applied - started} ms, applied→shown ${shown - applied} ms`);
  assert.ok(shown - applied <= 2500, `shown ${shown - applied} ms after being applied`);
  assert.ok(shown - started <= 5000, `shown ${shown - started} ms after being submitted`);
  assert.equal(await page.evaluate(() => window.edumonTestMarker), 'still the same page');
  assert.equal(navigations, 0, 'no navigation');
  await expectText(page, '#summary [data-status="met"] .chip-count', '2');
  await page.screenshot({path: screenshotPath('desktop-zh-updated'), fullPage: true});
});

test('fits a phone screen (zh and en)', async () => {
  const phone = await newPage(PHONE, {isMobile: true, hasTouch: true, deviceScaleFactor: 2});
  const query = fixtureMode ? `?district=${DISTRICT}&period=2024` : '';
  for (const lang of ['zh', 'en']) {
    await openDashboard(phone.page, `${query}${query ? '&' : '?'}lang=${lang}`);
    if (fixtureMode) {
      await expectText(phone.page, '[data-indicator="mh_teacher_coverage"] .num', EXPECTED_AFTER_UPDATE.mh_teacher_coverage.value);
    }
    const overflow = await phone.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `no sideways scrolling on a phone (${overflow}px too wide, ${lang})`);
    await phone.page.screenshot({path: screenshotPath(`phone-${lang}`), fullPage: true});
  }
  await phone.context.close();
});

test('stops polling while the tab is hidden and catches up when it shows', async () => {
  const setHidden = (hidden) => page.evaluate((value) => {
    Object.defineProperty(document, 'hidden', {value, configurable: true});
    Object.defineProperty(document, 'visibilityState', {value: value ? 'hidden' : 'visible', configurable: true});
    document.dispatchEvent(new Event('visibilitychange'));
  }, hidden);
  await setHidden(true);
  await expectText(page, '#connection', '已暂停（页面不可见）');
  const before = snapshotRequests.length;
  await sleep(2500);
  assert.equal(snapshotRequests.length, before, 'no snapshot requests while hidden');
  await setHidden(false);
  await expectText(page, '#connection', '实时');
  assert.ok(snapshotRequests.length > before, 'asks again when visible');
  // The first request after showing is a plain conditional GET (no wait), so it answers at once.
  const resumed = snapshotRequests[before];
  assert.ok(resumed.headers['if-none-match'], 'conditional');
  assert.doesNotMatch(resumed.url, /[?&]wait=/, 'not a long-poll');
});

test('nothing fetched from outside, no script errors', () => {
  assert.deepEqual(foreignRequests, []);
  assert.deepEqual(consoleErrors, []);
});

test('says when the service is unreachable, and recovers when it is back', async (t) => {
  const pidFile = process.env.EDUMON_API_PIDFILE;
  const binary = process.env.EDUMON_API_BIN;
  if (!pidFile || !binary) {
    t.skip('run.sh did not say how to restart the API');
    return;
  }
  const pid = Number(fs.readFileSync(pidFile, 'utf8'));
  try {
    process.kill(pid, 'SIGTERM');
  } catch (error) {
    if (error.code !== 'ESRCH') throw error; // already gone: the page must say so all the same
  }
  await waitFor(() => {
    try {
      process.kill(pid, 0);
      return false;
    } catch {
      return true;
    }
  }, {timeoutMs: 10000, describe: () => 'for the API to stop'});
  await page.locator('#banner').waitFor({state: 'visible', timeout: 8000});
  await expectText(page, '#connection', '无法连接服务');
  assert.match(await page.locator('#banner').textContent(), /无法连接服务/);
  await page.screenshot({path: screenshotPath('desktop-zh-unreachable'), fullPage: true});

  // Start it again (same environment as run.sh gave us) and hand the new pid back to run.sh.
  const log = fs.openSync(path.join(OUT_DIR, 'api-restarted.log'), 'a');
  const child = spawn(binary, [], {stdio: ['ignore', log, log], detached: false});
  fs.writeFileSync(pidFile, String(child.pid));
  child.unref();
  await waitFor(async () => {
    try {
      return (await fetch(`${BASE_URL}/readyz`)).status === 200;
    } catch {
      return false;
    }
  }, {timeoutMs: 15000, describe: () => 'for the restarted API to be ready'});
  // The page retries by itself with backoff; the button cuts the wait short.
  if (await page.locator('#retry').isVisible()) await page.click('#retry', {timeout: 2000}).catch(() => {});
  await page.locator('#banner').waitFor({state: 'hidden', timeout: 8000});
  await expectText(page, '#connection', '实时');
  if (fixtureMode) {
    await expectText(page, '[data-indicator="mh_teacher_coverage"] .num', EXPECTED_AFTER_UPDATE.mh_teacher_coverage.value);
  }
});
