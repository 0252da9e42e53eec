// Talking to edumon-api: plain JSON reads, and a watcher that keeps one snapshot fresh.
//
// The watcher long-polls: after the first answer it sends If-None-Match with the ETag it holds
// and `?wait=25`, so the server parks the request until the snapshot's version changes (answer
// 200 with the new body) or 25 s pass (answer 304, no body). An idle dashboard therefore costs
// one small request every 25 s, and a new submission shows as soon as the worker applies it.
// Bursts of changes are coalesced into at most one redraw a second.
//
// Failures (network errors, 5xx, a request that outlives the long-poll by 10 s) back off
// 1, 2, 4, 8, 15, 30 s. While the tab is hidden the watcher aborts its request and stops; when the
// tab shows again it asks at once with a plain conditional GET, then goes back to long-polling.
//
// URLs are relative ("v1/…"), so the page also works behind a reverse proxy under a path prefix.

export const WAIT_SECONDS = 25;
const CLIENT_TIMEOUT_MS = (WAIT_SECONDS + 10) * 1000;
const BACKOFF_MS = [1000, 2000, 4000, 8000, 15000, 30000];
// A long-poll answer arriving faster than this means the server ignored `wait` (or sent no
// ETag); poll at this pace instead of spinning.
const MIN_POLL_INTERVAL_MS = 2000;
const MIN_REDRAW_INTERVAL_MS = 1000;

export class ApiError extends Error {
  constructor(status, body) {
    const error = body && body.error ? body.error : {};
    super(error.message || `HTTP ${status}`);
    this.status = status;
    this.code = error.code || null;
    this.field = error.field || null;
  }
}

async function errorBody(response) {
  try {
    return await response.json();
  } catch {
    return null;
  }
}

export async function getJSON(path, options = {}) {
  const response = await fetch(path, {headers: {Accept: 'application/json'}, ...options});
  if (!response.ok) throw new ApiError(response.status, await errorBody(response));
  return response.json();
}

function withParam(url, name, value) {
  return `${url}${url.includes('?') ? '&' : '?'}${name}=${encodeURIComponent(value)}`;
}

// Keeps the snapshot at `url` fresh. onSnapshot(body) is called with every new version;
// onStatus({state, lastContact, failures, retryAt, error}) whenever the connection state changes,
// with state one of 'connecting', 'live', 'failing', 'paused'.
export class SnapshotWatcher {
  constructor(url, onSnapshot, onStatus) {
    this.url = url;
    this.onSnapshot = onSnapshot;
    this.onStatus = onStatus;
    this.etag = null;
    this.running = false;
    this.controller = null;
    this.wake = null;
    this.askNow = true; // next request without `wait`: first load, after a resume or a retry
    this.status = {state: 'connecting', lastContact: 0, failures: 0, retryAt: 0, error: null};
    this.handleVisibility = () => this.visibilityChanged();
    this.handleOnline = () => this.retryNow();
  }

  start() {
    this.running = true;
    document.addEventListener('visibilitychange', this.handleVisibility);
    window.addEventListener('online', this.handleOnline);
    this.loop();
  }

  stop() {
    this.running = false;
    document.removeEventListener('visibilitychange', this.handleVisibility);
    window.removeEventListener('online', this.handleOnline);
    if (this.controller) this.controller.abort();
    if (this.wake) this.wake();
  }

  // Cut a backoff short (the "retry now" button, the browser coming back online).
  retryNow() {
    this.askNow = true;
    if (this.wake) this.wake();
  }

  visibilityChanged() {
    if (document.hidden) {
      if (this.controller) this.controller.abort();
    } else {
      this.retryNow();
    }
  }

  setStatus(changes) {
    this.status = {...this.status, ...changes};
    this.onStatus(this.status);
  }

  // Sleep for `ms` (forever when Infinity) unless woken first.
  sleep(ms) {
    return new Promise((resolve) => {
      let timer = null;
      this.wake = () => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
      if (Number.isFinite(ms)) timer = setTimeout(this.wake, ms);
    });
  }

  async loop() {
    while (this.running) {
      if (document.hidden) {
        this.setStatus({state: 'paused'});
        await this.sleep(Infinity);
        this.askNow = true;
        continue;
      }
      const started = Date.now();
      const longPoll = Boolean(this.etag) && !this.askNow;
      const outcome = await this.pollOnce();
      if (!this.running) return;
      const elapsed = Date.now() - started;
      if (outcome === 'failed') {
        const delay = BACKOFF_MS[Math.min(this.status.failures - 1, BACKOFF_MS.length - 1)];
        this.setStatus({retryAt: Date.now() + delay});
        await this.sleep(delay);
        this.askNow = true;
      } else if (!this.etag || (outcome === 'unchanged' && longPoll)) {
        // No ETag, or a long-poll answered "unchanged" at once: the server does not hold
        // requests, so fall back to plain polling instead of spinning.
        if (elapsed < MIN_POLL_INTERVAL_MS) await this.sleep(MIN_POLL_INTERVAL_MS - elapsed);
      } else if (outcome === 'changed' && elapsed < MIN_REDRAW_INTERVAL_MS) {
        // A burst of submissions: coalesce into at most one redraw a second.
        await this.sleep(MIN_REDRAW_INTERVAL_MS - elapsed);
      }
    }
  }

  // One request. Returns 'changed', 'unchanged', 'failed' or 'aborted' (hidden tab / stopped).
  async pollOnce() {
    const controller = new AbortController();
    this.controller = controller;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, CLIENT_TIMEOUT_MS);
    const headers = {Accept: 'application/json'};
    let url = this.url;
    if (this.etag) {
      headers['If-None-Match'] = this.etag;
      if (!this.askNow) url = withParam(url, 'wait', WAIT_SECONDS);
    }
    this.askNow = false;
    try {
      const response = await fetch(url, {headers, cache: 'no-store', signal: controller.signal});
      if (response.status === 304) {
        this.setStatus({state: 'live', lastContact: Date.now(), failures: 0, error: null});
        return 'unchanged';
      }
      if (!response.ok) throw new ApiError(response.status, await errorBody(response));
      const body = await response.json();
      this.etag = response.headers.get('ETag');
      this.setStatus({state: 'live', lastContact: Date.now(), failures: 0, error: null});
      this.onSnapshot(body);
      return 'changed';
    } catch (error) {
      if (controller.signal.aborted && !timedOut) return 'aborted';
      this.setStatus({state: 'failing', failures: this.status.failures + 1, error});
      return 'failed';
    } finally {
      clearTimeout(timer);
      if (this.controller === controller) this.controller = null;
    }
  }
}
