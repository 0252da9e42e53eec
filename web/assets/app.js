// The edumon dashboard: one district, one period, every indicator of its plan.
//
// Data flow: the district list and the chosen district's targets are read once; the snapshot
// is kept fresh by a SnapshotWatcher (long-poll, see api.js) and each new version redraws the
// indicator cards. Trends come from the history endpoint, read once per district and then
// extended locally from the snapshots the page sees, so an update costs no extra requests.
// The balanced-development panel shows only when the balance endpoint answers.
//
// The URL keeps the state (?district=…&period=…&lang=en) so a view can be bookmarked or shared.

import {ApiError, SnapshotWatcher, WAIT_SECONDS, getJSON} from './api.js';
import {h} from './dom.js';
import {formatAge, formatDateTime, formatNumber, formatShortTime, getLang, nameOf, setLang, t, unitText} from './i18n.js';
import {sparkline} from './trend.js';

const STATUSES = ['met', 'on_track', 'behind', 'no_data'];
const OPS = {'>=': '≥', '<=': '≤', '=': '=', '>': '>', '<': '<'};
const PERIOD_RE = /^\d{4}$/;
// A "live" page that has not heard from the server for this long shows as stale
// (a long-poll answers within WAIT_SECONDS, so this only happens after a sleep or a hang).
const STALE_AFTER_MS = (WAIT_SECONDS + 20) * 1000;
const HISTORY_CONCURRENCY = 4;

const $ = (id) => document.getElementById(id);

const state = {
  districts: [],
  detail: null, // GET /v1/districts/{id}
  period: null, // null: whatever the snapshot says is latest
  snapshot: null,
  history: new Map(), // indicator id -> {periods, timeline}
  historyAvailable: false,
  balance: null,
  filter: null, // a status: show only those cards
  watcher: null,
  connection: {state: 'connecting', lastContact: 0, failures: 0, retryAt: 0, error: null},
  generation: 0, // bumped on every district/period change; stale async answers are dropped
};

/* ---------- URL and language ---------- */

function readParams() {
  const params = new URLSearchParams(location.search);
  let lang = params.get('lang');
  if (!lang) {
    try {
      lang = localStorage.getItem('edumon.lang');
    } catch {
      lang = null;
    }
  }
  return {district: params.get('district'), period: params.get('period'), lang};
}

function writeParams() {
  const params = new URLSearchParams();
  if (state.detail) params.set('district', state.detail.id);
  if (state.period) params.set('period', state.period);
  if (getLang() === 'en') params.set('lang', 'en');
  const query = params.toString();
  history.replaceState(null, '', query ? `?${query}` : location.pathname);
}

function switchLanguage() {
  setLang(getLang() === 'en' ? 'zh' : 'en');
  try {
    localStorage.setItem('edumon.lang', getLang());
  } catch {
    // private mode: the URL still carries it
  }
  writeParams();
  renderAll();
}

/* ---------- loading ---------- */

async function loadDistricts() {
  for (let attempt = 0; ; attempt++) {
    try {
      const body = await getJSON('v1/districts');
      return body.districts || [];
    } catch (error) {
      showBanner(t('unreachable'), error);
      await new Promise((resolve) => setTimeout(resolve, Math.min(30000, 1000 * 2 ** attempt)));
    }
  }
}

async function selectDistrict(id, period) {
  const generation = ++state.generation;
  stopWatching();
  state.snapshot = null;
  state.history = new Map();
  state.historyAvailable = false;
  state.balance = null;
  $('main').setAttribute('aria-busy', 'true');
  let detail;
  try {
    detail = await getJSON(`v1/districts/${encodeURIComponent(id)}`);
  } catch (error) {
    if (generation !== state.generation) return;
    showBanner(t('errorLoad'), error);
    setTimeout(() => {
      if (generation === state.generation) selectDistrict(id, period);
    }, 5000);
    return;
  }
  if (generation !== state.generation) return;
  state.detail = detail;
  const periods = detail.periods || [];
  state.period = PERIOD_RE.test(period || '') ? period : (periods[periods.length - 1] || defaultPeriod(detail));
  writeParams();
  renderAll();
  startWatching(generation);
  loadHistory(generation);
}

// No data yet: this calendar year, kept within the plan's years.
function defaultPeriod(detail) {
  const years = (detail.plan && detail.plan.years) || [];
  let year = new Date().getFullYear();
  if (years.length === 2) year = Math.min(Math.max(year, years[0]), years[1]);
  return String(year);
}

function selectPeriod(period) {
  const generation = ++state.generation;
  stopWatching();
  state.period = period;
  state.snapshot = null;
  state.balance = null;
  writeParams();
  renderAll();
  startWatching(generation);
}

function snapshotUrl() {
  const base = `v1/districts/${encodeURIComponent(state.detail.id)}/snapshot`;
  return state.period ? `${base}?period=${state.period}` : base;
}

function startWatching(generation) {
  state.watcher = new SnapshotWatcher(
    snapshotUrl(),
    (snapshot) => {
      if (generation === state.generation) onSnapshot(snapshot, generation);
    },
    (status) => {
      if (generation !== state.generation) return;
      state.connection = status;
      renderConnection();
    },
  );
  state.watcher.start();
}

function stopWatching() {
  if (state.watcher) state.watcher.stop();
  state.watcher = null;
}

function onSnapshot(snapshot, generation) {
  const previous = state.snapshot;
  state.snapshot = snapshot;
  if (!state.period && snapshot.period) {
    state.period = snapshot.period;
    writeParams();
  }
  extendHistory(snapshot);
  hideBanner();
  if (!previous || previous.period !== snapshot.period) renderPeriodOptions();
  renderSnapshot();
  $('main').setAttribute('aria-busy', 'false');
  if (!previous || previous.version !== snapshot.version) loadBalance(generation);
  if (previous && !(state.detail.periods || []).includes(snapshot.period) && snapshot.version > 0) {
    refreshPeriods(generation);
  }
}

// A period got its first data while we watched it: pick up the district's new period list.
async function refreshPeriods(generation) {
  try {
    const detail = await getJSON(`v1/districts/${encodeURIComponent(state.detail.id)}`);
    if (generation !== state.generation) return;
    state.detail = detail;
    renderPeriodOptions();
  } catch {
    // the picker keeps the old list; the next change tries again
  }
}

// Trends need one history request per indicator; they run a few at a time, and only once per
// district. If the first request answers 404, the server has no history endpoint: no trends.
async function loadHistory(generation) {
  const ids = (state.detail.targets || []).map((target) => target.indicator);
  const fetchOne = async (id) => {
    const url = `v1/districts/${encodeURIComponent(state.detail.id)}/history?indicator=${encodeURIComponent(id)}`;
    try {
      return await getJSON(url);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return null;
      throw error;
    }
  };
  if (!ids.length) return;
  let first;
  try {
    first = await fetchOne(ids[0]);
  } catch {
    return;
  }
  if (generation !== state.generation || !first) return;
  state.history.set(ids[0], first);
  state.historyAvailable = true;
  const queue = ids.slice(1);
  const worker = async () => {
    while (queue.length) {
      const id = queue.shift();
      try {
        const body = await fetchOne(id);
        if (generation !== state.generation) return;
        if (body) state.history.set(id, body);
      } catch {
        // a missing trend is not worth a banner
      }
    }
  };
  await Promise.all(Array.from({length: HISTORY_CONCURRENCY}, worker));
  if (generation !== state.generation) return;
  if (state.snapshot) extendHistory(state.snapshot);
  renderSnapshot();
}

// Fold a snapshot into the loaded histories: the period's value, and a timeline point when the
// snapshot is of the latest period (the one the timeline follows).
function extendHistory(snapshot) {
  for (const indicator of snapshot.indicators || []) {
    const history = state.history.get(indicator.id);
    if (!history) continue;
    const periods = history.periods || (history.periods = []);
    const entry = periods.find((p) => p.period === snapshot.period);
    if (entry) {
      entry.value = indicator.value;
      entry.version = snapshot.version;
    } else if (snapshot.version > 0) {
      periods.push({period: snapshot.period, value: indicator.value, version: snapshot.version});
      periods.sort((a, b) => a.period.localeCompare(b.period));
    }
    const latest = periods.length ? periods[periods.length - 1].period : null;
    const timeline = history.timeline || (history.timeline = []);
    const last = timeline[timeline.length - 1];
    if (snapshot.period === latest && snapshot.version > 0 && (!last || last.version < snapshot.version)) {
      timeline.push({period: snapshot.period, version: snapshot.version,
        updated_at: snapshot.updated_at, value: indicator.value});
    }
  }
}

async function loadBalance(generation) {
  if (!state.period) return;
  const url = `v1/districts/${encodeURIComponent(state.detail.id)}/balance?period=${state.period}`;
  let body = null;
  try {
    body = await getJSON(url);
  } catch {
    body = null; // 404 (no such endpoint yet) or any failure: no panel
  }
  if (generation !== state.generation) return;
  state.balance = body && body.stages && typeof body.stages === 'object' ? body : null;
  renderBalance();
}

/* ---------- rendering ---------- */

function renderAll() {
  for (const element of document.querySelectorAll('[data-i18n]')) {
    element.textContent = t(element.dataset.i18n);
  }
  document.title = state.detail ? `${nameOf(state.detail)} · ${t('title')}` : t('title');
  const lang = $('lang');
  lang.textContent = t('langSwitch');
  lang.setAttribute('aria-label', t('langSwitchLabel'));
  lang.setAttribute('lang', getLang() === 'en' ? 'zh-CN' : 'en');
  renderDistrictOptions();
  renderPeriodOptions();
  renderIdentity();
  renderSnapshot();
  renderBalance();
  renderConnection();
}

function renderDistrictOptions() {
  const select = $('district');
  select.replaceChildren(...state.districts.map((district) => h('option', {
    value: district.id, selected: state.detail && state.detail.id === district.id,
  }, nameOf(district))));
}

function renderPeriodOptions() {
  const periods = new Set(state.detail ? state.detail.periods || [] : []);
  if (state.period) periods.add(state.period);
  if (state.snapshot && state.snapshot.period) periods.add(state.snapshot.period);
  const sorted = [...periods].sort().reverse();
  $('period').replaceChildren(...sorted.map((period) => h('option', {
    value: period, selected: period === state.period,
  }, period)));
}

function renderIdentity() {
  const detail = state.detail;
  $('district-name').textContent = detail ? nameOf(detail) : t('loading');
  if (!detail) return;
  const plan = detail.plan || {};
  const years = Array.isArray(plan.years) && plan.years.length === 2
    ? t('planYears')(plan.years[0], plan.years[1]) : '';
  const parts = [nameOf(detail, 'province'), nameOf(plan, 'title'), years].filter(Boolean);
  $('plan').textContent = parts.join(' · ');
}

function renderSnapshot() {
  const snapshot = state.snapshot;
  const grid = $('indicators');
  if (!snapshot) {
    grid.replaceChildren(h('p', {class: 'empty'}, t('loading')));
    $('summary').replaceChildren();
    $('completeness-text').textContent = '';
    $('updated').textContent = '';
    return;
  }
  const completeness = snapshot.completeness || {};
  const expected = Number(completeness.expected) || 0;
  const reported = Number(completeness.reported) || 0;
  $('completeness-text').textContent = expected
    ? `${t('completenessText')(formatNumber(reported), formatNumber(expected))} (${formatNumber((100 * reported) / expected)}%)`
    : t('noValue');
  $('completeness-fill').style.width = `${expected ? Math.min(100, (100 * reported) / expected) : 0}%`;
  const updated = $('updated');
  updated.textContent = snapshot.version > 0 ? formatDateTime(snapshot.updated_at) : t('never');
  if (snapshot.updated_at) updated.setAttribute('datetime', snapshot.updated_at);

  const indicators = snapshot.indicators || [];
  const counts = Object.fromEntries(STATUSES.map((status) => [status, 0]));
  for (const indicator of indicators) counts[statusOf(indicator)]++;
  // The chips count the statuses and filter the cards (press again to show all).
  const focused = document.activeElement && document.activeElement.closest('#summary [data-status]');
  $('summary').replaceChildren(...STATUSES.map((status) => h('li', {class: `chip status-${status}${counts[status] ? '' : ' zero'}`, 'data-status': status},
    h('button', {type: 'button', 'aria-pressed': String(state.filter === status), onclick: () => toggleFilter(status)},
      h('span', {class: 'chip-count'}, formatNumber(counts[status])), ' ', t('status')[status]))));
  if (focused) $('summary').querySelector(`[data-status="${focused.dataset.status}"] button`).focus();

  // Keep open "plan text" boxes open across redraws.
  const open = new Set([...grid.querySelectorAll('details[open]')].map((d) => d.closest('[data-indicator]').dataset.indicator));
  const targets = new Map((state.detail.targets || []).map((target) => [target.indicator, target]));
  grid.replaceChildren(...(indicators.length
    ? indicators.map((indicator) => renderCard(indicator, targets.get(indicator.id) || {}, open.has(indicator.id)))
    : [h('p', {class: 'empty'}, t('noIndicators'))]));
  applyFilter();
}

function toggleFilter(status) {
  state.filter = state.filter === status ? null : status;
  for (const button of $('summary').querySelectorAll('button')) {
    button.setAttribute('aria-pressed', String(button.parentElement.dataset.status === state.filter));
  }
  applyFilter();
}

function applyFilter() {
  for (const card of $('indicators').querySelectorAll('[data-indicator]')) {
    card.hidden = Boolean(state.filter) && card.dataset.status !== state.filter;
  }
}

function statusOf(indicator) {
  return STATUSES.includes(indicator.status) ? indicator.status : 'no_data';
}

function isDelta(target) {
  return Boolean(target && String(target.op).startsWith('delta'));
}

// A difference of percentages is in percentage points.
function differenceUnit(unit) {
  if (unit === '%') return getLang() === 'en' ? ' pp' : '个百分点';
  return unitText(unit);
}

function withUnit(value, unit, kind) {
  return `${formatNumber(value, kind)}${unitText(unit)}`;
}

function signed(value, kind) {
  return value > 0 ? `+${formatNumber(value, kind)}` : formatNumber(value, kind);
}

function targetText(target, unit, kind, cumulative) {
  if (!target) return null;
  let text;
  if (target.op === 'between') {
    text = `${formatNumber(target.min, kind)}–${formatNumber(target.max, kind)}${unitText(unit)}`;
  } else if (isDelta(target)) {
    text = t('deltaTarget')(OPS[target.op.slice(5)] || target.op, signed(target.value, kind), differenceUnit(unit));
  } else {
    text = `${OPS[target.op] || target.op} ${withUnit(target.value, unit, kind)}`;
  }
  if (cumulative) text += ` · ${t('cumulative')}`;
  return target.year ? t('targetBy')(text, target.year) : text;
}

// `gap` is how far the value is beyond (+) or short of (−) the deadline target, in the unit.
function gapText(indicator) {
  const gap = indicator.gap;
  if (!Number.isFinite(gap) || statusOf(indicator) === 'no_data') return null;
  const amount = `${formatNumber(Math.abs(gap), indicator.kind)}${differenceUnit(indicator.unit)}`;
  if (gap > 0) return t('ahead')(amount);
  if (gap < 0) return t('short')(amount);
  return t('onTarget');
}

// Rules that say how `expected` was set, and rules that explain a status on their own.
const EXPECTED_RULES = ['milestone', 'milestone_line', 'straight_line_from_baseline',
  'straight_line_from_plan_start', 'straight_line_from_first_period'];
const NOTE_RULES = ['deadline_passed', 'change_needs_previous_period'];

function renderCard(indicator, target, detailsOpen) {
  const status = statusOf(indicator);
  const unit = indicator.unit || '';
  const kind = indicator.kind;
  const served = indicator.target || target;
  const delta = isDelta(served);
  const fact = (label, value, className) => (value === null || value === undefined ? null
    : h('div', {class: className}, h('dt', {}, label), h('dd', {}, value)));
  const reporting = Number.isFinite(indicator.schools_expected)
    ? t('schoolsText')(formatNumber(indicator.schools_reporting ?? 0), formatNumber(indicator.schools_expected))
    : null;
  const hint = EXPECTED_RULES.includes(indicator.rule) ? t('aside')(t('rules')[indicator.rule]) : '';
  const expected = Number.isFinite(indicator.expected) && !delta
    ? `${withUnit(indicator.expected, unit, kind)}${hint}` : null;
  // The value judged when it is not the value itself: this year's change, or the plan's sum.
  let compared = null;
  if (Number.isFinite(indicator.compared)) {
    compared = delta ? `${signed(indicator.compared, kind)}${differenceUnit(unit)}` : withUnit(indicator.compared, unit, kind);
  }
  const headingId = `ind-${indicator.id}`;
  return h('article', {class: `card status-${status}`, 'data-indicator': indicator.id,
    'data-status': status, 'aria-labelledby': headingId},
  h('header', {class: 'card-head'},
    h('h3', {id: headingId}, nameOf(indicator)),
    h('span', {class: 'badge'}, t('status')[status])),
  h('p', {class: 'value'},
    h('span', {class: 'num'}, formatNumber(indicator.value, kind)),
    Number.isFinite(indicator.value) && unitText(unit) ? h('span', {class: 'unit'}, unitText(unit)) : null),
  progressBar(indicator, served),
  h('dl', {class: 'facts'},
    fact(t('target'), targetText(served, unit, kind, target.cumulative || served.cumulative), 'fact-target'),
    fact(delta ? t('change') : t('cumulativeValue'), compared, 'fact-compared'),
    fact(t('expected'), expected, 'fact-expected'),
    fact(t('gap'), gapText(indicator), 'fact-gap'),
    fact(t('note'), NOTE_RULES.includes(indicator.rule) ? t('rules')[indicator.rule] : null, 'fact-note'),
    fact(t('schools'), reporting, 'fact-schools')),
  trendBlock(indicator, served),
  target.quote ? h('details', {open: detailsOpen},
    h('summary', {}, t('quote')),
    h('blockquote', {lang: 'zh-CN'}, target.quote)) : null);
}

// A bar from 0 to a scale that fits the value, the target and this period's expected level:
// the fill is the value, a solid mark the deadline target, a dashed mark what is expected now.
// Percentages always use 0–100. Targets on the yearly change (delta ops) get no bar.
function progressBar(indicator, target) {
  if (!target || isDelta(target)) return null;
  const unit = indicator.unit || '';
  // Cumulative targets judge the sum over the plan years, so the bar shows that.
  const level = Number.isFinite(indicator.compared) ? indicator.compared : indicator.value;
  const levels = [level, target.value, target.min, target.max, indicator.expected]
    .filter(Number.isFinite);
  if (!Number.isFinite(level)) return null;
  let scale = Math.max(0, ...levels);
  scale = unit === '%' ? Math.max(100, scale) : scale * 1.15;
  if (!(scale > 0)) scale = 1;
  const at = (value) => `${Math.min(100, Math.max(0, (100 * value) / scale))}%`;
  const label = [
    `${t('status')[statusOf(indicator)]}: ${withUnit(level, unit, indicator.kind)}`,
    `${t('target')}: ${targetText(target, unit, indicator.kind, false)}`,
  ].join('，');
  const band = target.op === 'between' && Number.isFinite(target.min) && Number.isFinite(target.max);
  return h('div', {class: 'bar', role: 'img', 'aria-label': label},
    Number.isFinite(level) ? h('span', {class: 'bar-fill', style: {width: at(level)}}) : null,
    band ? h('span', {class: 'bar-band', style: {left: at(target.min), width: `calc(${at(target.max)} - ${at(target.min)})`}}) : null,
    !band && Number.isFinite(target.value) ? h('span', {class: 'bar-mark target', style: {left: at(target.value)}}) : null,
    Number.isFinite(indicator.expected) ? h('span', {class: 'bar-mark expected', style: {left: at(indicator.expected)}}) : null);
}

function trendBlock(indicator, target) {
  if (!state.historyAvailable) return null;
  const history = state.history.get(indicator.id);
  if (!history) return null;
  const format = (value) => withUnit(value, indicator.unit, indicator.kind);
  const reference = target && !isDelta(target) ? target.value : undefined;
  const periods = (history.periods || []).map((p) => ({label: p.period, value: p.value}));
  const latest = periods.length ? periods[periods.length - 1].label : null;
  const timeline = state.snapshot && state.snapshot.period === latest
    ? (history.timeline || []).map((p) => ({label: formatDateTime(p.updated_at), value: p.value})) : [];
  const enough = (points) => points.filter((p) => Number.isFinite(p.value)).length >= 2;
  const figure = (caption, points, first, last) => h('figure', {class: 'trend-fig'},
    sparkline(points, {label: `${nameOf(indicator)} · ${caption}`, format, reference}),
    h('figcaption', {}, caption, h('span', {class: 'trend-range'}, first === last ? first : `${first} → ${last}`)));
  const parts = [];
  if (enough(periods)) parts.push(figure(t('trendPeriods'), periods, periods[0].label, latest));
  if (enough(timeline)) {
    const times = history.timeline.map((p) => formatShortTime(p.updated_at));
    parts.push(figure(t('trendTimeline'), timeline, times[0], times[times.length - 1]));
  }
  return parts.length ? h('div', {class: 'trend'}, parts) : null;
}

function renderBalance() {
  const section = $('balance');
  const balance = state.balance;
  if (!balance) {
    section.hidden = true;
    section.replaceChildren();
    return;
  }
  const stages = Object.entries(balance.stages).filter(([, stage]) => stage && Array.isArray(stage.resources));
  section.replaceChildren(
    h('h2', {id: 'balance-title'}, t('balance')),
    h('p', {class: 'balance-intro'}, t('balanceIntro')),
    verdictText(balance.verdict),
    h('div', {class: 'balance-stages'}, stages.map(([id, stage]) => renderStage(id, stage))));
  section.hidden = stages.length === 0;
}

function verdictText(verdict) {
  if (!verdict || typeof verdict !== 'object') return null;
  const passed = [verdict.pass, verdict.passed, verdict.balanced].find((v) => typeof v === 'boolean');
  const text = nameOf(verdict, 'summary') || nameOf(verdict, 'message');
  if (passed === undefined && !text) return null;
  return h('p', {class: `verdict ${passed === false ? 'fail' : passed ? 'pass' : ''}`},
    h('strong', {}, `${t('verdict')}：`),
    passed === undefined ? null : `${passed ? t('pass') : t('fail')}${text ? ' · ' : ''}`,
    typeof text === 'string' ? text : null);
}

function renderStage(id, stage) {
  const stageName = t('stage')[id] || nameOf(stage) || id;
  const rows = stage.resources.map((resource) => h('tr', {class: resource.pass === false ? 'fail' : 'pass'},
    h('th', {scope: 'row'}, nameOf(resource)),
    h('td', {}, formatNumber(resource.cv, 'cv')),
    h('td', {}, formatNumber(resource.cv_max, 'cv')),
    h('td', {}, typeof resource.pass === 'boolean' ? (resource.pass ? `✓ ${t('pass')}` : `✗ ${t('fail')}`) : t('noValue'))));
  const failing = Array.isArray(stage.failing_schools) ? stage.failing_schools : [];
  return h('div', {class: 'stage'},
    h('h3', {}, stageName),
    h('div', {class: 'table-wrap'}, h('table', {},
      h('thead', {}, h('tr', {},
        h('th', {scope: 'col'}, t('resource')), h('th', {scope: 'col'}, t('cv')),
        h('th', {scope: 'col'}, t('cvMax')), h('th', {scope: 'col'}, t('pass')))),
      h('tbody', {}, rows))),
    h('p', {class: 'failing'}, h('strong', {}, `${t('failingSchools')}：`),
      failing.length ? failing.map((school) => (typeof school === 'string' ? school : nameOf(school) || school.id)).join('、')
        : t('noFailingSchools')));
}

// Called on every watcher change and once a second (relative times, the stale check). Only
// what changed is touched, so screen readers hear a change of state once, not every second.
function renderConnection() {
  const connection = state.connection;
  const element = $('connection');
  const age = connection.lastContact ? Date.now() - connection.lastContact : Infinity;
  let kind = connection.state;
  if (kind === 'live' && age > STALE_AFTER_MS) kind = 'stale';
  const labels = {connecting: t('loading'), live: t('live'), paused: t('paused'), stale: t('stale'), failing: t('unreachable')};
  const label = labels[kind] || kind;
  if (element.dataset.state !== kind || element.textContent !== label) {
    element.className = `connection ${kind}`;
    element.dataset.state = kind;
    element.replaceChildren(h('span', {class: 'dot', 'aria-hidden': 'true'}), label);
    element.title = kind === 'live' ? t('liveTitle') : '';
  }
  $('indicators').classList.toggle('stale', kind === 'failing' || kind === 'stale');
  if (kind === 'failing') {
    const retry = Math.max(0, Math.ceil((connection.retryAt - Date.now()) / 1000));
    showBanner(`${t('unreachable')} · ${t('stale')}`, connection.error,
      t('unreachableDetail')(connection.lastContact ? formatAge(age) : t('never'), retry));
  } else if (state.snapshot) {
    hideBanner();
  }
}

function showBanner(title, error, detail) {
  const reason = error instanceof ApiError ? ` (${error.status} ${error.message})` : '';
  if ($('banner-title').textContent !== title) $('banner-title').textContent = title;
  $('banner-detail').textContent = `${detail || ''}${reason}`;
  $('retry').hidden = !state.watcher;
  $('banner').hidden = false;
}

function hideBanner() {
  $('banner').hidden = true;
}

/* ---------- start ---------- */

async function main() {
  const params = readParams();
  setLang(params.lang);
  renderAll();
  $('lang').addEventListener('click', switchLanguage);
  $('district').addEventListener('change', (event) => selectDistrict(event.target.value, null));
  $('period').addEventListener('change', (event) => selectPeriod(event.target.value));
  $('pickers').addEventListener('submit', (event) => event.preventDefault());
  $('retry').addEventListener('click', () => state.watcher && state.watcher.retryNow());
  // Relative times and the stale check move on without server traffic.
  setInterval(renderConnection, 1000);

  state.districts = await loadDistricts();
  hideBanner();
  renderDistrictOptions();
  if (!state.districts.length) {
    $('indicators').replaceChildren(h('p', {class: 'empty'}, t('noDistricts')));
    return;
  }
  const wanted = state.districts.find((district) => district.id === params.district);
  await selectDistrict((wanted || state.districts[0]).id, params.period);
}

main();
