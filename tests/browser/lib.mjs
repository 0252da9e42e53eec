// Helpers shared by seed.mjs and dashboard.test.mjs: talking to the API under test, waiting.

export const BASE_URL = process.env.EDUMON_BASE_URL || 'http://127.0.0.1:8080';
export const ADMIN_TOKEN = process.env.EDUMON_ADMIN_TOKEN || '';
export const OUT_DIR = process.env.EDUMON_BROWSER_OUT || 'browser-out';

// One JSON request; returns {status, headers, body}. Never throws on HTTP status.
export async function api(method, path, {token, body, headers = {}} = {}) {
  const response = await fetch(`${BASE_URL}${path}`, {
    method,
    headers: {
      ...(body === undefined ? {} : {'Content-Type': 'application/json'}),
      ...(token ? {Authorization: `Bearer ${token}`} : {}),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = text;
  }
  return {status: response.status, headers: response.headers, body: parsed};
}

export async function expectStatus(expected, method, path, options) {
  const result = await api(method, path, options);
  if (result.status !== expected) {
    throw new Error(`${method} ${path}: expected ${expected}, got ${result.status} ${JSON.stringify(result.body)}`);
  }
  return result.body;
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Polls check() until it returns a truthy value; throws with describe() after timeoutMs.
export async function waitFor(check, {timeoutMs = 10000, intervalMs = 100, describe = () => ''} = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms ${describe()}`);
    await sleep(intervalMs);
  }
}

async function snapshotVersion(district, period) {
  const result = await api('GET', `/v1/districts/${district}/snapshot?period=${period}`);
  return result.status === 200 ? result.body.version : -1;
}

// Submits figures as a school and waits until the worker has applied them: the submission's
// status says "applied" (or, should a server not offer GET /v1/submissions/{id}, the district's
// snapshot for the period has a new version).
export async function submit(district, school, token, period, values) {
  const versionBefore = await snapshotVersion(district, period);
  const accepted = await expectStatus(202, 'POST', '/v1/submissions',
    {token, body: {school, period, values}});
  let last = null;
  await waitFor(async () => {
    last = await api('GET', `/v1/submissions/${encodeURIComponent(accepted.id)}`, {token});
    if (last.status === 200 && last.body.status === 'rejected') {
      throw new Error(`submission ${accepted.id} rejected: ${JSON.stringify(last.body)}`);
    }
    if (last.status === 404) return (await snapshotVersion(district, period)) > versionBefore;
    return last.status === 200 && last.body.status === 'applied';
  }, {timeoutMs: 15000, describe: () => `waiting for submission ${accepted.id}: ${JSON.stringify(last && last.body)}`});
  return accepted;
}
