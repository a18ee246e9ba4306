// The HTTP API, as the page calls it: the key in the x-api-key header (never in a URL),
// every failure as an ApiError carrying the envelope's code, message and field errors.

const KEY_STORAGE = 'zts.apiKey';

export class ApiError extends Error {
  constructor(status, body, retryAfter) {
    const error = (body && body.error) || {};
    super(error.message || `the API answered ${status}`);
    this.status = status;
    this.code = error.code || 'unknown';
    // Field errors of a 422: [{field, code, message}].
    this.fields = Array.isArray(error.details) ? error.details : [];
    this.retryAfter = retryAfter;
  }
}

export const storedKey = {
  get: () => localStorage.getItem(KEY_STORAGE),
  set: (key) => localStorage.setItem(KEY_STORAGE, key),
  clear: () => localStorage.removeItem(KEY_STORAGE),
};

export class Api {
  constructor(key) {
    this.key = key;
  }

  async request(method, path, body, extraHeaders = {}) {
    const headers = { 'x-api-key': this.key, ...extraHeaders };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response;
    try {
      response = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: 'no-store',
      });
    } catch (e) {
      throw new ApiError(0, { error: { code: 'unreachable', message: `the API did not answer (${e.message}); check your connection` } });
    }
    const text = await response.text();
    let parsed = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = null;
    }
    if (!response.ok) {
      throw new ApiError(response.status, parsed, Number(response.headers.get('retry-after')) || null);
    }
    return parsed;
  }

  createProject(idea) {
    // A retried click (or a reload mid-request) must not make a second project.
    return this.request('POST', '/api/v1/projects', idea, { 'idempotency-key': crypto.randomUUID() });
  }

  listProjects(cursor) {
    const query = new URLSearchParams({ limit: '20' });
    if (cursor) query.set('cursor', cursor);
    return this.request('GET', `/api/v1/projects?${query}`);
  }

  project(id) {
    return this.request('GET', `/api/v1/projects/${encodeURIComponent(id)}`);
  }

  retryProject(id) {
    // A double click must not claim two runs: the same key replays the first retry.
    return this.request('POST', `/api/v1/projects/${encodeURIComponent(id)}/retry`, undefined,
      { 'idempotency-key': crypto.randomUUID() });
  }

  cancelProject(id) {
    return this.request('POST', `/api/v1/projects/${encodeURIComponent(id)}/cancel`);
  }

  exportProject(id) {
    return this.request('GET', `/api/v1/projects/${encodeURIComponent(id)}/export`);
  }

  deleteProject(id) {
    return this.request('DELETE', `/api/v1/projects/${encodeURIComponent(id)}`);
  }

  ticket() {
    return this.request('POST', '/api/v1/ws-tickets');
  }
}
