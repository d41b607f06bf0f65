// api.js — the one way the UI talks to Lever's HTTP API: JSON in and out, the API token
// (kept in localStorage) as a Bearer header, and the error envelope turned into ApiError.

const TOKEN_KEY = 'lever.token';

export function storedToken() {
  return localStorage.getItem(TOKEN_KEY);
}

export function storeToken(token) {
  localStorage.setItem(TOKEN_KEY, token);
}

export function forgetToken() {
  localStorage.removeItem(TOKEN_KEY);
}

// An API failure: the HTTP status plus the envelope's code, message and details
// ([{path, message}], the path a JSON Pointer into what was sent, or "?name" for a query).
export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = Array.isArray(details) ? details : [];
  }
}

function requestInit(method, body, contentType = 'application/json') {
  const headers = { Accept: 'application/json' };
  const token = storedToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  // Always a content type, also without a body: with the session cookie, a state change
  // without JSON (or CSV on the import route) is refused (415) as a possible cross-site request.
  if (method !== 'GET') headers['Content-Type'] = contentType;
  const init = { method, headers, credentials: 'same-origin' };
  if (body !== undefined) init.body = typeof body === 'string' ? body : JSON.stringify(body);
  return init;
}

async function failure(response) {
  const text = await response.text();
  let envelope = null;
  try {
    envelope = JSON.parse(text).error;
  } catch {
    envelope = null;
  }
  if (response.status === 401) window.dispatchEvent(new CustomEvent('lever:unauthorized'));
  return new ApiError(response.status, envelope?.code ?? `http_${response.status}`,
                      envelope?.message ?? (text || response.statusText), envelope?.details);
}

// Calls `path` (absolute, e.g. "/api/v1/strategies") and returns the parsed answer (null for
// 204). `body` is an object to send as JSON, or a string already holding JSON (or, with
// another `contentType`, that text as is).
export async function api(method, path, body, contentType) {
  let response;
  try {
    response = await fetch(path, requestInit(method, body, contentType));
  } catch (cause) {
    throw new ApiError(0, 'network_error', `Lever did not answer (${cause.message})`, []);
  }
  if (!response.ok) throw await failure(response);
  if (response.status === 204) return null;
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}

export const get = (path) => api('GET', path);
export const post = (path, body) => api('POST', path, body ?? {});
export const put = (path, body) => api('PUT', path, body);
export const patch = (path, body) => api('PATCH', path, body);
export const del = (path) => api('DELETE', path);
export const postCsv = (path, text) => api('POST', path, text, 'text/csv');

// A query string from an object, leaving out empty values: query({q: 'x', tag: ''}) = "?q=x".
export function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') search.set(name, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

// Fetches `path` with the caller's credentials and saves the answer as `filename`. A plain
// link cannot do this: it would not carry the Bearer token.
export async function download(path, filename) {
  const response = await fetch(path, requestInit('GET'));
  if (!response.ok) throw await failure(response);
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
