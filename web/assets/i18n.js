// Strings and number formatting for the dashboard.
//
// Chinese is the primary language (catalog `name` fields are Chinese, `name_en` English);
// English is a switch. Numbers use Intl.NumberFormat for the page language: zh-CN groups by
// thousands with commas ("23,000") and uses a full stop for decimals, as people in China expect.

const STRINGS = {
  zh: {
    title: 'edumon 教育规划监测',
    district: '区县',
    period: '年度',
    periodSuffix: '年度',
    langSwitch: 'English',
    langSwitchLabel: 'Switch to English',
    loading: '加载中…',
    plan: '规划',
    planYears: (a, b) => `${a}—${b}年`,
    completeness: '填报完整度',
    completenessText: (r, e) => `${r} / ${e}`,
    lastUpdate: '数据更新时间',
    never: '尚无数据',
    version: '版本',
    live: '实时',
    liveTitle: '页面自动更新，无需刷新',
    paused: '已暂停（页面不可见）',
    stale: '数据可能已过时',
    unreachable: '无法连接服务',
    unreachableDetail: (age, retry) => `最后一次成功连接：${age}。${retry} 秒后重试。`,
    retryNow: '立即重试',
    secondsAgo: (n) => `${n} 秒前`,
    minutesAgo: (n) => `${n} 分钟前`,
    hoursAgo: (n) => `${n} 小时前`,
    justNow: '刚刚',
    summary: '指标概况',
    status: {met: '已达标', on_track: '进度正常', behind: '滞后', no_data: '无数据'},
    target: '目标',
    targetBy: (t, y) => `${t}（${y}年）`,
    aside: (text) => `（${text}）`,
    deltaTarget: (op, v, unit) => `每年变化 ${op} ${v}${unit}`,
    cumulative: '规划期累计',
    expected: '本期应达',
    change: '同比变化',
    cumulativeValue: '规划期累计',
    note: '说明',
    rules: {
      milestone: '规划阶段目标', milestone_line: '按阶段目标插值',
      straight_line_from_baseline: '按基线至目标匀速推进', straight_line_from_plan_start: '按规划期匀速推进',
      straight_line_from_first_period: '按首个有数据年度至目标匀速推进',
      deadline_passed: '已过目标期限', change_needs_previous_period: '缺少上一年度数据，无法计算同比变化',
    },
    gap: '差距',
    ahead: (v) => `高于目标 ${v}`,
    short: (v) => `距目标差 ${v}`,
    onTarget: '恰好达标',
    schools: '填报学校',
    schoolsText: (r, e) => `${r} / ${e} 所`,
    noValue: '—',
    quote: '规划原文',
    trendPeriods: '历年趋势',
    trendTimeline: '本年度随填报变化',
    trendLabel: (name, points) => `${name}：${points}`,
    balance: '义务教育优质均衡：校际差异系数',
    balanceIntro: '各项资源配置指标的校际差异系数（越小越均衡）与上限比较。',
    stage: {primary: '小学', junior: '初中'},
    resource: '指标',
    cv: '差异系数',
    cvMax: '上限',
    pass: '达标',
    fail: '未达标',
    failingSchools: '未达标学校',
    noFailingSchools: '无',
    verdict: '结论',
    errorLoad: '加载失败',
    noDistricts: '目录中没有区县。',
    noIndicators: '该区县没有可跟踪的指标。',
  },
  en: {
    title: 'edumon education plan monitor',
    district: 'District',
    period: 'Year',
    periodSuffix: '',
    langSwitch: '中文',
    langSwitchLabel: '切换到中文',
    loading: 'Loading…',
    plan: 'Plan',
    planYears: (a, b) => `${a}–${b}`,
    completeness: 'Reporting completeness',
    completenessText: (r, e) => `${r} / ${e}`,
    lastUpdate: 'Data updated',
    never: 'no data yet',
    version: 'version',
    live: 'Live',
    liveTitle: 'This page updates by itself; no need to reload',
    paused: 'Paused (page hidden)',
    stale: 'Data may be out of date',
    unreachable: 'Service unreachable',
    unreachableDetail: (age, retry) => `Last successful contact: ${age}. Retrying in ${retry} s.`,
    retryNow: 'Retry now',
    secondsAgo: (n) => `${n} s ago`,
    minutesAgo: (n) => `${n} min ago`,
    hoursAgo: (n) => `${n} h ago`,
    justNow: 'just now',
    summary: 'Summary',
    status: {met: 'Met', on_track: 'On track', behind: 'Behind', no_data: 'No data'},
    target: 'Target',
    targetBy: (t, y) => `${t} by ${y}`,
    aside: (text) => ` (${text})`,
    deltaTarget: (op, v, unit) => `change ${op} ${v}${unit} a year`,
    cumulative: 'cumulative over the plan',
    expected: 'Expected now',
    change: 'Change on last year',
    cumulativeValue: 'Cumulative',
    note: 'Note',
    rules: {
      milestone: 'plan milestone', milestone_line: 'between milestones',
      straight_line_from_baseline: 'straight line from baseline', straight_line_from_plan_start: 'straight line over the plan',
      straight_line_from_first_period: 'straight line from the first year with data',
      deadline_passed: 'the deadline has passed', change_needs_previous_period: 'no figure for last year, so no change to judge',
    },
    gap: 'Gap',
    ahead: (v) => `${v} beyond target`,
    short: (v) => `${v} short of target`,
    onTarget: 'exactly on target',
    schools: 'Schools reporting',
    schoolsText: (r, e) => `${r} / ${e}`,
    noValue: '—',
    quote: 'Plan text',
    trendPeriods: 'By year',
    trendTimeline: 'This year, as reports arrived',
    trendLabel: (name, points) => `${name}: ${points}`,
    balance: 'Balanced compulsory education: school-to-school CV',
    balanceIntro: 'Coefficient of variation between schools for each resource (lower is more balanced) against its limit.',
    stage: {primary: 'Primary', junior: 'Junior secondary'},
    resource: 'Resource',
    cv: 'CV',
    cvMax: 'Limit',
    pass: 'Pass',
    fail: 'Fail',
    failingSchools: 'Schools below standard',
    noFailingSchools: 'none',
    verdict: 'Verdict',
    errorLoad: 'Could not load',
    noDistricts: 'The catalog has no districts.',
    noIndicators: 'This district has no tracked indicators.',
  },
};

// Catalog units are Chinese; English mode shows these instead (unknown units pass through).
const UNITS_EN = {
  '人': ' people', '名': '', '个': '', '所': ' schools', '班': ' classes', '次': ' times',
  '场次': ' events', '场': ' events', '人次': ' person-times', '节': ' lessons', '元': ' yuan', '万元': ' ×10k yuan', '小时': ' h', '平方米': ' m²',
  '间': ' rooms', '项': ' items', '位': '', '名次': '', '岁': ' years',
};

let lang = 'zh';

export function setLang(value) {
  lang = value === 'en' ? 'en' : 'zh';
  document.documentElement.lang = lang === 'en' ? 'en' : 'zh-CN';
}

export function getLang() {
  return lang;
}

export function t(key) {
  return STRINGS[lang][key];
}

// The display name of a catalog object: Chinese `name`, or `name_en` in English when present.
export function nameOf(obj, field = 'name') {
  if (!obj) return '';
  if (lang === 'en' && obj[`${field}_en`]) return obj[`${field}_en`];
  return obj[field] ?? obj.id ?? '';
}

// Unit suffix to print after a number. '%' and '‰' attach directly; Chinese units get a
// thin separation only in English.
export function unitText(unit) {
  if (!unit) return '';
  if (lang === 'en' && unit in UNITS_EN) return UNITS_EN[unit];
  return unit;
}

const formatters = new Map();

function formatter(minDigits, maxDigits) {
  const key = `${lang}:${minDigits}:${maxDigits}`;
  if (!formatters.has(key)) {
    formatters.set(key, new Intl.NumberFormat(lang === 'en' ? 'en' : 'zh-CN', {
      minimumFractionDigits: minDigits, maximumFractionDigits: maxDigits,
    }));
  }
  return formatters.get(key);
}

// Values are served unrounded; round only here. Coefficients of variation are printed with two
// or three decimals (as county reports print them), everything else with up to two.
export function formatNumber(value, kind) {
  if (value === null || value === undefined || !Number.isFinite(value)) return t('noValue');
  return kind === 'cv' ? formatter(2, 3).format(value) : formatter(0, 2).format(value);
}

export function formatDateTime(iso) {
  if (!iso) return t('never');
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return new Intl.DateTimeFormat(lang === 'en' ? 'en-GB' : 'zh-CN', {
    year: 'numeric', month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false,
  }).format(date);
}

// Short form for chart captions: "11/23 09:12".
export function formatShortTime(iso) {
  const date = new Date(iso);
  if (!iso || Number.isNaN(date.getTime())) return '';
  return new Intl.DateTimeFormat(lang === 'en' ? 'en-GB' : 'zh-CN', {
    month: 'numeric', day: 'numeric', hour: '2-digit', minute: '2-digit', hour12: false,
  }).format(date);
}

export function formatAge(ms) {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 5) return t('justNow');
  if (seconds < 120) return t('secondsAgo')(seconds);
  if (seconds < 7200) return t('minutesAgo')(Math.round(seconds / 60));
  return t('hoursAgo')(Math.round(seconds / 3600));
}
