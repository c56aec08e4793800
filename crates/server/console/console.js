// Gatehouse admin console: manage the clients of a tenant through the admin API.
//
// - Sign-in: authorization code + PKCE (S256) + state + nonce, as in examples/spa/app.js.
//   Tokens live in sessionStorage and are renewed with the refresh token before they expire.
// - Everything shown is set with textContent, never parsed as HTML. No inline code or
//   styles: the page runs under a strict Content-Security-Policy.
// - Browser tests drive this page by element ids (see index.html); keep them stable.
'use strict';

// ---- constants and state ----

const PAGE_SIZE = 25;
const SCOPES = 'openid profile ocsapi offline_access';
const REDIRECT_URI = window.location.origin + '/console/';
const TENANT_MEMBER = 'f1a9c6a2-2d2f-4a53-9a7b-7c3d5e0b1a01';
const KEY = {
  tokens: 'console.tokens', pending: 'console.pending', view: 'console.view',
  resume: 'console.resume', tenant: 'console.tenant',
};
const KINDS = {
  AuthorizationCode: { label: 'Authorization Code', collection: 'AuthorizationCodeClients', secrets: false },
  Hybrid: { label: 'Hybrid', collection: 'HybridClients', secrets: true },
  ClientCredential: { label: 'Client Credentials', collection: 'ClientCredentialClients', secrets: true },
};
// API property -> words shown to the user: [one item, the whole field].
const FIELD_LABELS = {
  Name: ['Name'],
  RedirectUris: ['Allowed Redirect URL', 'Allowed Redirect URL(s)'],
  PostLogoutRedirectUris: ['Allowed Logout Redirect URL', 'Allowed Logout Redirect URL(s)'],
  AllowedCorsOrigins: ['Allowed CORS Origin', 'Allowed CORS Origin(s)'],
  AccessTokenLifetime: ['Token Lifetime'],
  AllowOfflineAccess: ['Allow Refresh Token'],
  RoleIds: ['Role', 'Roles'],
  SecretDescription: ['Description'],
  Description: ['Description'],
  SecretExpirationDate: ['Expiration Date'],
  Expiration: ['Expiration Date'],
  SecretExpires: ['Never Expires'],
  Expires: ['Never Expires'],
};
// Properties whose errors show under another field.
const FIELD_ALIAS = { SecretExpires: 'SecretExpirationDate', Expires: 'Expiration' };

const state = {
  config: null, meta: null, tokens: null,
  kind: 'AuthorizationCode', filter: '', skip: 0, total: 0, rows: [], selectedId: null,
  client: null, secrets: [], roles: null,
  flow: null,          // { type: 'create', kind, secretFresh } or { type: 'secret', kind, clientId }
  confirm: null,       // resolver of the open confirmation
  renewing: null, renewTimer: 0, listSeq: 0, detailSeq: 0, filterTimer: 0,
};

class ApiError extends Error {
  constructor(status, body, fallback) {
    const b = body && typeof body === 'object' ? body : {};
    super(b.Reason || b.Error || fallback);
    this.status = status;
    this.error = b.Error || '';
    this.reason = b.Reason || '';
    this.resolution = b.Resolution || '';
    this.operationId = b.OperationId || '';
  }
}
/** The session ended; the session banner already says so. */
class SessionError extends Error {}

// ---- small DOM helpers ----

const $ = (id) => document.getElementById(id);

/** An element: `text` sets textContent, booleans set properties, the rest are attributes. */
function h(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v == null) continue;
    if (k === 'text') node.textContent = v;
    else if (typeof v === 'boolean') node[k] = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) if (c != null) node.append(c);
  return node;
}

function icon(name, cls) {
  const svg = $('icon-' + name).content.firstElementChild.cloneNode(true);
  if (cls) svg.classList.add(cls);
  return svg;
}

/** Fills an icon-only copy button (class `copy`) with its two states. */
function fillCopyButton(button, value) {
  button.replaceChildren(icon('copy', 'when-idle'), icon('check', 'when-copied'));
  button.dataset.copy = value;
  return button;
}

function copyButton(value, label) {
  return fillCopyButton(h('button', { type: 'button', class: 'icon-btn copy', 'aria-label': label }), value);
}

function announce(text) {
  $('live').textContent = '';
  window.setTimeout(() => { $('live').textContent = text; }, 50);
}

function formatDate(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** A Date as the value of a datetime-local input (local time, minutes). */
function localInputValue(date) {
  const p = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${p(date.getMonth() + 1)}-${p(date.getDate())}T${p(date.getHours())}:${p(date.getMinutes())}`;
}

/** Disables a button while its request runs; gives the focus back if disabling took it. */
function setBusy(button, busy) {
  if (busy) button.hadFocus = document.activeElement === button;
  button.disabled = busy;
  button.classList.toggle('busy', busy);
  if (busy) button.setAttribute('aria-busy', 'true'); else button.removeAttribute('aria-busy');
  const focusLost = !document.activeElement || document.activeElement === document.body;
  if (!busy && button.hadFocus && focusLost && button.getClientRects().length) button.focus();
}

/** Shows only the parts of `root` meant for `kind` (elements with data-kinds). */
function showKindFields(root, kind) {
  for (const el of root.querySelectorAll('[data-kinds]')) el.hidden = !el.dataset.kinds.split(' ').includes(kind);
}

// ---- storage ----

function saveTokens(tokens) {
  state.tokens = tokens;
  if (tokens) sessionStorage.setItem(KEY.tokens, JSON.stringify(tokens));
  else sessionStorage.removeItem(KEY.tokens);
}

function readJson(key) {
  try { return JSON.parse(sessionStorage.getItem(key) || 'null'); } catch (e) { return null; }
}

function saveView() {
  const { kind, filter, skip, selectedId } = state;
  sessionStorage.setItem(KEY.view, JSON.stringify({ kind, filter, skip, selectedId }));
}

function restoreView() {
  const v = readJson(KEY.view);
  if (v && KINDS[v.kind]) {
    state.kind = v.kind;
    state.filter = typeof v.filter === 'string' ? v.filter : '';
    state.skip = Number.isInteger(v.skip) && v.skip >= 0 ? v.skip : 0;
    state.selectedId = v.selectedId || null;
  }
  $('client-type').value = state.kind;
  $('filter').value = state.filter;
}

/** The values of the inputs and URL lists under `root`, by element id. */
function snapshot(root) {
  const s = {};
  for (const el of root.querySelectorAll('input[id]')) s[el.id] = el.type === 'checkbox' ? el.checked : el.value;
  for (const ul of root.querySelectorAll('ul.url-list[id]')) s[ul.id] = listValues(ul);
  return s;
}

function restore(root, snap) {
  for (const [id, value] of Object.entries(snap || {})) {
    const el = root.querySelector('#' + CSS.escape(id));
    if (!el) continue;
    if (el.tagName === 'UL') setList(el, value);
    else if (el.type === 'checkbox') { if (!el.disabled) el.checked = !!value; }
    else el.value = value;
  }
}

// ---- encoding and randomness (as in examples/spa/app.js) ----

function base64url(bytes) {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** `n` random bytes as base64url: 32 bytes give a 43-character PKCE verifier. */
function randomString(n) {
  const bytes = new Uint8Array(n);
  window.crypto.getRandomValues(bytes);
  return base64url(bytes);
}

/** The S256 code challenge: base64url(SHA-256(verifier)) (RFC 7636 §4.2). */
async function s256(verifier) {
  const digest = await window.crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

/** The payload of a JWT, decoded (not verified). */
function jwtPayload(jwt) {
  const part = String(jwt || '').split('.')[1] || '';
  const binary = atob(part.replace(/-/g, '+').replace(/_/g, '/'));
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes));
}

// ---- configuration and discovery ----

async function loadConfig() {
  // `?tenant=` picks a tenant; it is remembered for the round trip to the sign-in page.
  const tenant = new URLSearchParams(window.location.search).get('tenant') || sessionStorage.getItem(KEY.tenant);
  if (tenant) sessionStorage.setItem(KEY.tenant, tenant);
  const response = await fetch('/console/config.json' + (tenant ? '?tenant=' + encodeURIComponent(tenant) : ''), { cache: 'no-store' });
  if (!response.ok) throw new Error('The console configuration could not be loaded (' + response.status + ').');
  const config = await response.json();
  config.issuer = String(config.issuer).replace(/\/+$/, '');
  return config;
}

async function discover(issuer) {
  const response = await fetch(issuer + '/.well-known/openid-configuration');
  if (!response.ok) throw new Error('Discovery answered ' + response.status + '.');
  const meta = await response.json();
  if (meta.issuer !== issuer) throw new Error('Discovery names another issuer: ' + meta.issuer);
  return meta;
}

// ---- sign in, renewal, sign out ----

async function signIn() {
  if (!state.meta || !state.config) throw new Error('The sign-in service could not be reached. Reload the page to try again.');
  const verifier = randomString(32);
  const pending = { verifier, state: randomString(16), nonce: randomString(16) };
  sessionStorage.setItem(KEY.pending, JSON.stringify(pending));
  const url = new URL(state.meta.authorization_endpoint);
  const q = url.searchParams;
  q.set('response_type', 'code');
  q.set('client_id', state.config.clientId);
  q.set('redirect_uri', REDIRECT_URI);
  q.set('scope', SCOPES);
  q.set('state', pending.state);
  q.set('nonce', pending.nonce);
  q.set('code_challenge', await s256(verifier));
  q.set('code_challenge_method', 'S256');
  window.location.assign(url.toString());
}

/** "Sign in again": keep the page (view, open dialog, anything typed) for after the round trip. */
function signInAgain() {
  saveView();
  const open = topDialog();
  sessionStorage.setItem(KEY.resume, JSON.stringify({
    dialog: open ? open.id : null,
    flow: state.flow,
    add: snapshot($('add-client-dialog')),
    secret: snapshot($('add-secret-dialog')),
    details: state.client ? { id: state.client.Id, values: snapshot($('d-form')) } : null,
  }));
  return signIn();
}

/** A token endpoint request (a public client: client_id in the body, no secret). */
async function tokenRequest(params) {
  let response;
  try {
    response = await fetch(state.meta.token_endpoint, { method: 'POST', body: new URLSearchParams(params) });
  } catch (e) {
    throw Object.assign(new Error('The sign-in service could not be reached.'), { offline: true });
  }
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new Error('The token endpoint refused the request: ' + (answer.error || response.status) + ' ' + (answer.error_description || ''));
  }
  return answer;
}

/** Back from the authorize endpoint with `code` (or `error`), `state` and `iss` in the query. */
async function completeSignIn(query) {
  const pending = readJson(KEY.pending);
  sessionStorage.removeItem(KEY.pending);
  // The code must not stay in the address bar or the history.
  window.history.replaceState(null, '', '/console/');
  if (!pending || query.get('state') !== pending.state) {
    throw new Error('The sign-in response does not match the request that was sent. Please sign in again.');
  }
  if (query.has('iss') && query.get('iss') !== state.config.issuer) {
    throw new Error('The sign-in response came from another issuer: ' + query.get('iss'));
  }
  if (query.has('error')) {
    throw new Error('Sign-in failed: ' + query.get('error') + ' ' + (query.get('error_description') || ''));
  }
  const answer = await tokenRequest({
    grant_type: 'authorization_code',
    code: query.get('code') || '',
    redirect_uri: REDIRECT_URI,
    client_id: state.config.clientId,
    code_verifier: pending.verifier,
  });
  // Straight from the token endpoint, so the signature need not be checked; the claims must be.
  const claims = checkIdToken(answer.id_token);
  if (claims.nonce !== pending.nonce) throw new Error('ID token: the nonce does not match.');
  if (claims.exp * 1000 < Date.now()) throw new Error('ID token: expired.');
  storeTokens(answer, claims);
}

function checkIdToken(idToken) {
  const claims = jwtPayload(idToken);
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (claims.iss !== state.config.issuer) throw new Error('ID token: wrong issuer ' + claims.iss);
  if (!audiences.includes(state.config.clientId)) throw new Error('ID token: not issued to this console.');
  return claims;
}

function storeTokens(answer, claims) {
  const old = state.tokens || {};
  saveTokens({
    access_token: answer.access_token,
    refresh_token: answer.refresh_token || old.refresh_token || null,
    id_token: answer.id_token || old.id_token,
    lifetime: answer.expires_in,
    expires_at: Date.now() + answer.expires_in * 1000,
    claims: Object.assign({}, old.claims, claims),
  });
  scheduleRenewal();
}

/** Renews `expires_in - 60 s` after issue (half the lifetime for very short ones). */
function scheduleRenewal() {
  window.clearTimeout(state.renewTimer);
  const t = state.tokens;
  if (!t) return;
  const lead = Math.min(60, (t.lifetime || 3600) / 2) * 1000;
  state.renewTimer = window.setTimeout(async () => {
    const result = await renew();
    if (result === 'offline' && Date.now() < t.expires_at - 5000) state.renewTimer = window.setTimeout(scheduleRenewal, 15000);
    else if (result !== 'ok') sessionLost();
  }, Math.max(0, t.expires_at - lead - Date.now()));
}

/** Uses the refresh token once, even if several callers ask at the same time: 'ok', 'failed' or 'offline'. */
function renew() {
  if (!state.renewing) {
    state.renewing = (async () => {
      const t = state.tokens;
      if (!t || !t.refresh_token) return 'failed';
      try {
        const answer = await tokenRequest({ grant_type: 'refresh_token', refresh_token: t.refresh_token, client_id: state.config.clientId });
        storeTokens(answer, answer.id_token ? checkIdToken(answer.id_token) : {});
        return 'ok';
      } catch (e) {
        console.warn('token renewal failed', e);
        return e.offline ? 'offline' : 'failed';
      }
    })().finally(() => { state.renewing = null; });
  }
  return state.renewing;
}

function sessionLost() {
  window.clearTimeout(state.renewTimer);
  $('session-banner').hidden = false;
  placeBanners();
}

async function ensureFreshToken() {
  if (!state.tokens) throw new SessionError('Not signed in.');
  if (Date.now() < state.tokens.expires_at - 5000) return;
  if ((await renew()) !== 'ok') {
    sessionLost();
    throw new SessionError('Your session has expired.');
  }
}

function signOut() {
  const t = state.tokens;
  window.clearTimeout(state.renewTimer);
  saveTokens(null);
  for (const k of [KEY.view, KEY.resume]) sessionStorage.removeItem(k);
  if (t && t.id_token && state.meta && state.meta.end_session_endpoint) {
    const url = new URL(state.meta.end_session_endpoint);
    url.searchParams.set('id_token_hint', t.id_token);
    url.searchParams.set('post_logout_redirect_uri', REDIRECT_URI);
    window.location.assign(url.toString());
  } else {
    window.location.assign('/console/');
  }
}

function renderAuth() {
  const signedIn = !!state.tokens;
  $('signed-out').hidden = signedIn;
  $('app').hidden = !signedIn;
  for (const id of ['user', 'user-avatar', 'signout']) $(id).hidden = !signedIn;
  if (signedIn) {
    const c = state.tokens.claims || {};
    const name = c.preferred_username || c.name || c.sub || '';
    $('user').textContent = name;
    $('user-avatar').textContent = name.slice(0, 1).toUpperCase();
  }
}

// ---- admin API ----

function apiUrl(path) {
  return '/api/v1/Tenants/' + encodeURIComponent(state.config.tenantId) + '/' + path;
}

/** Calls the admin API; answers { data, total } or throws ApiError / SessionError. */
async function api(method, path, body, retried) {
  await ensureFreshToken();
  const headers = { Authorization: 'Bearer ' + state.tokens.access_token, Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(apiUrl(path), {
      method, headers, cache: 'no-store', body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new Error('The server could not be reached. Check the connection and try again.');
  }
  if (response.status === 401) {
    if (!retried && (await renew()) === 'ok') return api(method, path, body, true);
    sessionLost();
    throw new SessionError('Your session has expired.');
  }
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
  if (!response.ok) throw new ApiError(response.status, data, `The server answered ${response.status} ${response.statusText}.`);
  const total = response.headers.get('Total-Count');
  return { data, total: total === null ? null : Number(total) };
}

function clientPath(kind, id, rest) {
  return KINDS[kind].collection + (id ? '/' + encodeURIComponent(id) : '') + (rest || '');
}

// ---- banners and field errors ----

function topDialog() {
  const open = document.querySelectorAll('dialog[open]');
  return open.length ? open[open.length - 1] : null;
}

/** Keeps the banners visible: inside the open modal dialog, if any, else above the page. */
function placeBanners() {
  const dialog = topDialog();
  const target = (dialog && dialog.querySelector('.dialog-banners')) || $('banners');
  for (const id of ['session-banner', 'error']) if ($(id).parentElement !== target) target.append($(id));
}

function showError(err) {
  if (err instanceof SessionError) return;
  console.warn(err);
  let text = err && err.message ? err.message : String(err);
  if (err instanceof ApiError) {
    text = [err.error, err.reason, err.resolution].filter(Boolean).join(' ') || text;
    if (err.status === 403 && !err.reason) text = 'You need the Tenant Administrator role to do this.';
    if (err.operationId) text += ` (Operation Id ${err.operationId})`;
  }
  $('error-text').textContent = text;
  $('error').hidden = false;
  placeBanners();
}

function clearError() {
  $('error').hidden = true;
}

function clearFieldErrors(root) {
  for (const el of root.querySelectorAll('.field-error')) { el.textContent = ''; el.hidden = true; }
  for (const el of root.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  for (const el of root.querySelectorAll('li.invalid')) el.classList.remove('invalid');
}

/** "RedirectUris[1] must use https" -> { field: 'RedirectUris', index: 1, text: 'Allowed Redirect URL 2: must use https' }. */
function parseReason(reason) {
  const m = /^([A-Za-z]+)(?:\[(\d+)\])?\s*([\s\S]*)$/.exec(reason || '');
  if (!m || !FIELD_LABELS[m[1]]) return null;
  const [one, many = one] = FIELD_LABELS[m[1]];
  const index = m[2] === undefined ? null : Number(m[2]);
  const text = index === null ? `${many} ${m[3]}` : `${one} ${index + 1}: ${m[3]}`;
  return { field: FIELD_ALIAS[m[1]] || m[1], index, text: text.trim() };
}

/** Shows a message under a field: the first visible `.field-error[data-field]` in `roots`. */
function showFieldMessage(roots, field, text, index) {
  for (const root of roots) {
    const box = Array.from(root.querySelectorAll(`.field-error[data-field="${field}"]`)).find((e) => !e.closest('[hidden]:not(.field-error)'));
    if (!box) continue;
    box.textContent = text;
    box.hidden = false;
    const wrapper = box.closest('.field');
    const input = wrapper.querySelector('input:not([type=checkbox]):not(:disabled), input:not(:disabled)');
    if (input) input.setAttribute('aria-invalid', 'true');
    const list = wrapper.querySelector('ul.url-list');
    if (list && index != null && list.children[index]) list.children[index].classList.add('invalid');
    return { root, input };
  }
  return null;
}

/** A 400 whose Reason names a field shown in one of `roots`: shows it there and answers where. */
function showApiFieldError(err, roots) {
  if (!(err instanceof ApiError) || err.status !== 400) return null;
  const parsed = parseReason(err.reason);
  return parsed && showFieldMessage(roots, parsed.field, parsed.text, parsed.index);
}

/** Handles a failed request: under its field if the API names one, else in the banner. */
function fail(err, roots) {
  const hit = showApiFieldError(err, roots);
  if (!hit) { showError(err); return null; }
  if (hit.input) hit.input.focus();
  return hit;
}

// ---- URL list editors ----

function listValues(ul) {
  return Array.from(ul.children, (li) => li.dataset.value);
}

function listItem(value) {
  return h('li', { 'data-value': value },
    h('span', { class: 'url', text: value }),
    h('button', { type: 'button', class: 'icon-btn remove-item', 'aria-label': 'Remove ' + value }, icon('x')));
}

function setList(ul, values) {
  ul.replaceChildren(...(values || []).map(listItem));
}

/** Moves the typed URL into its list (no duplicates); answers whether something was typed. */
function addFromInput(input) {
  const value = input.value.trim();
  if (!value) return false;
  const ul = $(input.dataset.list);
  if (!listValues(ul).includes(value)) ul.append(listItem(value));
  input.value = '';
  return true;
}

/** Adds what was typed but not added with "+" in the visible list inputs of `root`. */
function commitPending(root) {
  for (const input of root.querySelectorAll('input[data-list]')) if (!input.closest('[hidden]')) addFromInput(input);
}

function bindListEditors() {
  document.addEventListener('click', (ev) => {
    const add = ev.target.closest('.btn-add');
    if (add) {
      const input = add.parentElement.querySelector('input[data-list]');
      addFromInput(input);
      input.focus();
      return;
    }
    const remove = ev.target.closest('.remove-item');
    if (remove) {
      const input = remove.closest('.field').querySelector('input[data-list]');
      remove.closest('li').remove();
      input.focus();
    }
  });
  document.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && ev.target.matches('input[data-list]')) {
      ev.preventDefault();
      addFromInput(ev.target);
    }
  });
}

// ---- roles ----

async function loadRoles() {
  const { data } = await api('GET', 'Roles');
  state.roles = Array.isArray(data) ? data : [];
  return state.roles;
}

/** Role checkboxes in `fieldset`; Tenant Member is always included, so it is checked and disabled. */
function renderRoles(fieldset, prefix, checkedIds) {
  const boxes = (state.roles || []).map((role) => {
    const id = prefix + role.Id;
    const member = role.Id === TENANT_MEMBER;
    return h('div', { class: 'check role' },
      h('input', { type: 'checkbox', id, value: role.Id, checked: member || checkedIds.includes(role.Id), disabled: member }),
      h('label', { for: id },
        h('span', { class: 'role-name', text: role.Name + (member ? ' (always included)' : '') }),
        role.Description ? h('span', { class: 'role-desc', text: role.Description }) : null));
  });
  fieldset.querySelector('.role-list').replaceChildren(...boxes);
}

function checkedRoles(fieldset) {
  return Array.from(fieldset.querySelectorAll('input[type=checkbox]:checked'), (cb) => cb.value);
}

/** Token Lifetime: a number, null when empty, undefined (with a message) when not a whole number. */
function readLifetime(input, root) {
  if (input.value === '' && !input.validity.badInput) return null;
  const n = Number(input.value);
  if (input.validity.badInput || !Number.isInteger(n)) {
    showFieldMessage([root], 'AccessTokenLifetime', 'Token Lifetime must be a whole number of seconds, from 60 to 3600.');
    input.focus();
    return undefined;
  }
  return n;
}

// ---- client list ----

async function loadList() {
  const seq = ++state.listSeq;
  let query = `${clientPath(state.kind)}?skip=${state.skip}&count=${PAGE_SIZE}`;
  if (state.filter.trim()) query += '&name=' + encodeURIComponent(state.filter.trim());
  $('clients').setAttribute('aria-busy', 'true');
  try {
    const { data, total } = await api('GET', query);
    if (seq !== state.listSeq) return;
    state.rows = Array.isArray(data) ? data : [];
    state.total = total === null ? state.skip + state.rows.length : total;
    if (!state.rows.length && state.skip > 0 && state.total > 0) {
      // The page emptied (a delete, or fewer results): go to the last page that has clients.
      state.skip = Math.floor((state.total - 1) / PAGE_SIZE) * PAGE_SIZE;
      saveView();
      return loadList();
    }
    renderList();
  } finally {
    if (seq === state.listSeq) $('clients').removeAttribute('aria-busy');
  }
}

function renderList() {
  const needle = state.filter.trim().toLowerCase();
  const rows = state.rows.filter((c) => !needle || String(c.Name || '').toLowerCase().includes(needle));
  const body = $('clients').tBodies[0];
  body.replaceChildren(...rows.map((c) => {
    const selected = c.Id === state.selectedId;
    return h('tr', { 'data-id': c.Id, tabindex: '0', class: selected ? 'selected' : null, 'aria-current': selected ? 'true' : null },
      h('td', { class: 'c-name' }, h('span', { class: 'name', text: c.Name })),
      h('td', { class: 'c-id' }, h('span', { class: 'id-cell' }, h('code', { text: c.Id }), copyButton(c.Id, 'Copy client Id'))),
      h('td', { class: 'c-status' }, statusBadge(c.Enabled)));
  }));
  if (!rows.length) {
    const label = KINDS[state.kind].label;
    const text = needle
      ? `No clients match “${state.filter.trim()}”.`
      : `There are no ${label} clients yet. Select Add Client to create one.`;
    body.append(h('tr', { class: 'empty' }, h('td', { colspan: '3', text })));
  }
  const end = state.skip + state.rows.length;
  $('page-info').textContent = state.total ? `${state.skip + 1}–${end} of ${state.total}` : '0 of 0';
  $('prev').disabled = state.skip === 0;
  $('next').disabled = state.skip + PAGE_SIZE >= state.total;
}

function statusBadge(enabled) {
  return h('span', { class: 'badge ' + (enabled ? 'badge-on' : 'badge-off'), text: enabled ? 'Enabled' : 'Disabled' });
}

function markSelected() {
  for (const tr of $('clients').tBodies[0].rows) {
    const selected = tr.dataset.id === state.selectedId;
    tr.classList.toggle('selected', selected);
    if (selected) tr.setAttribute('aria-current', 'true'); else tr.removeAttribute('aria-current');
  }
}

function goToPage(skip) {
  state.skip = Math.max(0, skip);
  saveView();
  loadList().catch(showError);
}

function onFilterInput() {
  state.filter = $('filter').value;
  renderList(); // at once, on the loaded page
  window.clearTimeout(state.filterTimer);
  state.filterTimer = window.setTimeout(() => goToPage(0), 300); // then ask the server (it may ignore `name`)
}

function onKindChange() {
  state.kind = $('client-type').value;
  state.skip = 0;
  closeDetails();
  loadList().catch(showError);
}

// ---- details pane ----

/** Loads a client (and its secrets) into the details pane. keepEdits: keep unsaved edits of the same client. */
async function selectClient(id, { keepEdits = false, focus = false, reveal = false } = {}) {
  state.selectedId = id;
  saveView();
  markSelected();
  const seq = ++state.detailSeq;
  const kind = state.kind;
  const [client, secrets] = await Promise.all([
    api('GET', clientPath(kind, id)).then((r) => r.data),
    KINDS[kind].secrets ? api('GET', clientPath(kind, id, '/Secrets?count=100')).then((r) => r.data) : [],
    kind === 'ClientCredential' && !state.roles ? loadRoles() : null,
  ]);
  if (seq !== state.detailSeq || state.kind !== kind) return;
  const edits = keepEdits && state.client && state.client.Id === id ? snapshot($('d-form')) : null;
  state.client = client;
  state.secrets = Array.isArray(secrets) ? secrets : [];
  renderDetails();
  if (edits) restore($('d-form'), edits);
  if (focus) $('d-title').focus();
  // On narrow screens the pane is below the table: bring it into view.
  else if (reveal && window.matchMedia('(max-width: 899px)').matches) $('details').scrollIntoView({ block: 'start', behavior: 'smooth' });
}

function renderDetails() {
  const c = state.client;
  const kind = state.kind;
  const pane = $('details');
  pane.hidden = false;
  $('content').classList.add('with-details');
  showKindFields(pane, kind);
  clearFieldErrors(pane);
  $('d-message').textContent = '';
  $('d-kind').textContent = KINDS[kind].label + ' client';
  $('d-title').textContent = c.Name;
  $('d-id').textContent = c.Id;
  fillCopyButton($('d-copy-id'), c.Id);
  $('d-status').replaceWith(Object.assign(statusBadge(c.Enabled), { id: 'd-status' }));
  $('d-toggle').textContent = c.Enabled ? 'Disable' : 'Enable';
  $('d-name').value = c.Name;
  $('d-lifetime').value = c.AccessTokenLifetime;
  for (const input of pane.querySelectorAll('input[data-list]')) input.value = '';
  setList($('d-redirect-list'), c.RedirectUris);
  setList($('d-logout-list'), c.PostLogoutRedirectUris);
  setList($('d-cors-list'), c.AllowedCorsOrigins);
  $('d-refresh').checked = !!c.AllowOfflineAccess;
  if (kind === 'ClientCredential') renderRoles($('d-roles'), 'd-role-', c.RoleIds || []);
  renderSecrets();
}

function renderSecrets() {
  const now = Date.now();
  const rows = state.secrets.map((s) => {
    const never = s.Expires === false || !s.Expiration;
    const expired = !never && new Date(s.Expiration).getTime() < now;
    return h('tr', { 'data-secret-id': String(s.Id) },
      h('td', {}, s.Description || h('span', { class: 'muted', text: 'No description' })),
      h('td', {}, never ? 'Never' : formatDate(s.Expiration), expired ? h('span', { class: 'badge badge-off', text: 'Expired' }) : null),
      h('td', { class: 'actions' }, h('button', { type: 'button', class: 'btn btn-small remove-secret', 'data-secret-id': String(s.Id), text: 'Remove' })));
  });
  if (!rows.length) rows.push(h('tr', { class: 'empty' }, h('td', { colspan: '3', text: 'No secrets. Add one so that the application can authenticate.' })));
  $('d-secrets').tBodies[0].replaceChildren(...rows);
}

function closeDetails() {
  state.selectedId = null;
  state.client = null;
  state.detailSeq++;
  $('details').hidden = true;
  $('content').classList.remove('with-details');
  saveView();
  markSelected();
}

/** After any change: the list and the details again (keeping unsaved edits unless they were just saved). */
function refreshAfterChange(keepEdits) {
  return Promise.all([
    loadList(),
    state.selectedId ? selectClient(state.selectedId, { keepEdits }) : null,
  ]);
}

const same = (a, b) => JSON.stringify(a || []) === JSON.stringify(b || []);

/** Save: a PUT with the changed properties only. */
async function saveDetails(ev) {
  ev.preventDefault();
  clearError();
  const pane = $('details');
  clearFieldErrors(pane);
  $('d-message').textContent = '';
  commitPending(pane);
  const c = state.client;
  const kind = state.kind;
  const body = {};
  if ($('d-name').value.trim() !== c.Name) body.Name = $('d-name').value;
  const lifetime = readLifetime($('d-lifetime'), pane);
  if (lifetime === undefined) return;
  if (lifetime !== null && lifetime !== c.AccessTokenLifetime) body.AccessTokenLifetime = lifetime;
  if (kind !== 'ClientCredential') {
    const redirect = listValues($('d-redirect-list'));
    const logout = listValues($('d-logout-list'));
    if (!same(redirect, c.RedirectUris)) body.RedirectUris = redirect;
    if (!same(logout, c.PostLogoutRedirectUris)) body.PostLogoutRedirectUris = logout;
  }
  if (kind === 'AuthorizationCode') {
    const cors = listValues($('d-cors-list'));
    if (!same(cors, c.AllowedCorsOrigins)) body.AllowedCorsOrigins = cors;
  }
  if (kind === 'Hybrid' && $('d-refresh').checked !== !!c.AllowOfflineAccess) body.AllowOfflineAccess = $('d-refresh').checked;
  if (kind === 'ClientCredential') {
    const roles = checkedRoles($('d-roles'));
    if (!same([...roles].sort(), [...(c.RoleIds || [])].sort())) body.RoleIds = roles;
  }
  if (!Object.keys(body).length) { $('d-message').textContent = 'No changes to save.'; return; }
  setBusy($('d-save'), true);
  try {
    await api('PUT', clientPath(kind, c.Id), body);
    await refreshAfterChange(false);
    $('d-message').textContent = 'Saved.';
  } catch (e) {
    fail(e, [pane]);
  } finally {
    setBusy($('d-save'), false);
  }
}

/** The console's own client: disabling or deleting it signs every administrator out of the console. */
function ownClientWarning(c) {
  return c.Id === state.config.clientId ? ' This is the client of this console: you will be signed out of the console.' : '';
}

async function toggleEnabled() {
  clearError();
  const c = state.client;
  if (c.Enabled && ownClientWarning(c)
    && !(await confirmAction('Disable client', `Disable “${c.Name}”?` + ownClientWarning(c), 'Disable'))) return;
  setBusy($('d-toggle'), true);
  try {
    await api('PUT', clientPath(state.kind, c.Id), { Enabled: !c.Enabled });
    await refreshAfterChange(true);
    announce(c.Enabled ? 'Client disabled.' : 'Client enabled.');
  } catch (e) {
    showError(e);
  } finally {
    setBusy($('d-toggle'), false);
  }
}

async function deleteClient() {
  const c = state.client;
  const ok = await confirmAction('Delete client',
    `Delete the client “${c.Name}”? Applications that use it can no longer authenticate. This cannot be undone.` + ownClientWarning(c));
  if (!ok) return;
  clearError();
  try {
    await api('DELETE', clientPath(state.kind, c.Id));
    closeDetails();
    await loadList();
    announce('Client deleted.');
    $('page-title').focus();
  } catch (e) {
    showError(e);
  }
}

async function removeSecret(secretId) {
  const s = state.secrets.find((x) => String(x.Id) === String(secretId));
  const name = s && s.Description ? `“${s.Description}”` : `number ${secretId}`;
  const ok = await confirmAction('Remove secret',
    `Remove the secret ${name}? Applications that use it can no longer authenticate with it. This cannot be undone.`);
  if (!ok) return;
  clearError();
  try {
    await api('DELETE', clientPath(state.kind, state.client.Id, '/Secrets/' + encodeURIComponent(secretId)));
    await refreshAfterChange(true);
    announce('Secret removed.');
  } catch (e) {
    showError(e);
  }
}

// ---- dialogs ----

function showDialog(dialog, focus) {
  if (!dialog.open) dialog.showModal();
  placeBanners();
  if (focus) focus.focus();
}

function closeDialog(dialog) {
  if (dialog.open) dialog.close();
}

/** Asks for confirmation in #confirm-dialog; resolves true for "Delete" (or `yes`). */
function confirmAction(title, text, yes = 'Delete') {
  if (state.confirm) state.confirm(false);
  $('cd-title').textContent = title;
  $('cd-text').textContent = text;
  $('confirm-yes').textContent = yes;
  showDialog($('confirm-dialog'), $('confirm-no'));
  return new Promise((resolve) => { state.confirm = resolve; });
}

function finishConfirm(answer) {
  const resolve = state.confirm;
  state.confirm = null;
  closeDialog($('confirm-dialog'));
  if (resolve) resolve(answer);
}

function showSuccess(title, clientId, secret) {
  $('sd-title').textContent = title;
  $('success-client-id').textContent = clientId;
  $('copy-client-id').dataset.copy = clientId;
  $('success-secret-row').hidden = !secret;
  $('success-client-secret').textContent = secret || '';
  $('copy-client-secret').dataset.copy = secret || '';
  showDialog($('success-dialog'), $('copy-client-id'));
}

async function copyText(value, button) {
  try {
    await navigator.clipboard.writeText(value);
  } catch (e) {
    // No clipboard API (plain http) or no permission: the older way.
    const area = h('textarea', { class: 'offscreen', readonly: 'readonly' });
    area.value = value;
    button.parentElement.append(area);
    area.select();
    const ok = document.execCommand('copy');
    area.remove();
    button.focus();
    if (!ok) { showError(new Error('Copying is not allowed here: select the text and copy it.')); return; }
  }
  const label = button.querySelector('.btn-label');
  button.classList.add('copied');
  if (label) label.textContent = 'Copied';
  announce('Copied');
  window.clearTimeout(button.copyTimer);
  button.copyTimer = window.setTimeout(() => {
    button.classList.remove('copied');
    if (label) label.textContent = 'Copy';
  }, 1500);
}

// ---- add client (and its first secret) ----

/** Opens "Add Client" for the selected Client Type; `draft` restores what was typed before a sign-in. */
async function openAddClient(draft, show = true) {
  clearError();
  const kind = state.kind;
  const dialog = $('add-client-dialog');
  state.flow = { type: 'create', kind, secretFresh: true };
  $('ac-form').reset();
  for (const ul of dialog.querySelectorAll('ul.url-list')) ul.replaceChildren();
  clearFieldErrors(dialog);
  $('ac-kind').textContent = KINDS[kind].label;
  showKindFields(dialog, kind);
  if (kind === 'ClientCredential') {
    try { await loadRoles(); } catch (e) { showError(e); }
    renderRoles($('ac-roles'), 'ac-role-', []);
  }
  if (draft) restore(dialog, draft);
  if (show) showDialog(dialog, $('ac-name'));
}

async function submitAddClient(ev) {
  ev.preventDefault();
  clearError();
  const dialog = $('add-client-dialog');
  clearFieldErrors(dialog);
  commitPending(dialog);
  if (readLifetime($('ac-lifetime'), dialog) === undefined) return;
  if (KINDS[state.flow.kind].secrets) {
    // Hybrid and Client Credentials: nothing is created before the secret is described.
    const fresh = state.flow.secretFresh;
    state.flow.secretFresh = false;
    closeDialog(dialog);
    openSecretDialog(state.flow, fresh);
    return;
  }
  await createClient(null);
}

function clientBody(kind) {
  const body = { Name: $('ac-name').value };
  const lifetime = Number($('ac-lifetime').value);
  if ($('ac-lifetime').value !== '' && Number.isInteger(lifetime)) body.AccessTokenLifetime = lifetime;
  if (kind !== 'ClientCredential') {
    body.RedirectUris = listValues($('ac-redirect-list'));
    body.PostLogoutRedirectUris = listValues($('ac-logout-list'));
  }
  if (kind === 'AuthorizationCode') body.AllowedCorsOrigins = listValues($('ac-cors-list'));
  if (kind === 'Hybrid') body.AllowOfflineAccess = $('ac-refresh').checked;
  if (kind === 'ClientCredential') body.RoleIds = checkedRoles($('ac-roles'));
  return body;
}

/** POSTs the client once; `secret` (Hybrid, Client Credentials) comes from the secret dialog. */
async function createClient(secret) {
  const kind = state.flow.kind;
  const body = clientBody(kind);
  if (secret) {
    body.SecretDescription = secret.description;
    if (secret.never) body.SecretExpires = false;
    else if (secret.expiration) body.SecretExpirationDate = secret.expiration;
  }
  const button = secret ? $('as-submit') : $('ac-submit');
  setBusy(button, true);
  try {
    const { data } = await api('POST', clientPath(kind), body);
    const client = data && data.Client ? data.Client : data;
    closeDialog($('add-secret-dialog'));
    closeDialog($('add-client-dialog'));
    state.flow = null;
    showSuccess('Client Successfully Created', client.Id, secret ? data.Secret : null);
    showCreated(client.Id).catch(showError);
  } catch (e) {
    const clientDialog = $('add-client-dialog');
    const secretDialog = $('add-secret-dialog');
    const hit = showApiFieldError(e, secret ? [secretDialog, clientDialog] : [clientDialog]);
    if (!hit) showError(e);
    else if (hit.root === clientDialog && secretDialog.open) {
      // A client field is wrong: back to the client dialog, everything typed still there.
      closeDialog(secretDialog);
      showDialog(clientDialog, hit.input);
    } else if (hit.input) hit.input.focus();
  } finally {
    setBusy(button, false);
  }
}

/** After a create: the list again, on the page holding the new client, which is then selected. */
async function showCreated(id) {
  state.selectedId = id;
  await loadList();
  if (!state.rows.some((r) => r.Id === id) && state.total > PAGE_SIZE && !state.filter.trim()) {
    state.skip = Math.floor((state.total - 1) / PAGE_SIZE) * PAGE_SIZE;
    await loadList();
  }
  await selectClient(id);
}

// ---- add secret ----

/** Opens "Add Secret" for a new client (flow.type 'create') or an existing one ('secret'). */
function openSecretDialog(flow, reset, draft) {
  state.flow = flow;
  const dialog = $('add-secret-dialog');
  const create = flow.type === 'create';
  // The API names these fields differently on a client create and on the Secrets collection.
  $('as-description-err').dataset.field = create ? 'SecretDescription' : 'Description';
  $('as-expiration-err').dataset.field = create ? 'SecretExpirationDate' : 'Expiration';
  $('as-subtitle').textContent = create
    ? `The first secret of the new ${KINDS[flow.kind].label} client.`
    : `A new secret for “${state.client ? state.client.Name : ''}”.`;
  if (reset) {
    const inAYear = new Date();
    inAYear.setFullYear(inAYear.getFullYear() + 1);
    $('as-form').reset();
    $('as-expiration').value = localInputValue(inAYear);
    clearFieldErrors(dialog);
  }
  $('as-expiration').min = localInputValue(new Date());
  if (draft) restore(dialog, draft);
  syncNeverExpires();
  showDialog(dialog, $('as-description'));
}

function syncNeverExpires() {
  $('as-expiration').disabled = $('as-never').checked;
}

/** Cancel (or Escape) at the secret step: nothing is created. */
function cancelSecret() {
  closeDialog($('add-secret-dialog'));
  state.flow = null;
}

/** The secret fields: { description, never, expiration (ISO 8601 UTC or null) }, or null after a message. */
function readSecretFields() {
  const dialog = $('add-secret-dialog');
  const never = $('as-never').checked;
  const value = $('as-expiration').value;
  let expiration = null;
  if (!never && value) {
    const date = new Date(value);
    if (Number.isNaN(date.getTime())) {
      showFieldMessage([dialog], $('as-expiration-err').dataset.field, 'Expiration Date is not a valid date and time.');
      $('as-expiration').focus();
      return null;
    }
    expiration = date.toISOString();
  }
  return { description: $('as-description').value, never, expiration };
}

async function submitSecret(ev) {
  ev.preventDefault();
  clearError();
  const dialog = $('add-secret-dialog');
  clearFieldErrors(dialog);
  const secret = readSecretFields();
  if (!secret || !state.flow) return;
  if (state.flow.type === 'create') { await createClient(secret); return; }

  const flow = state.flow;
  const body = { Description: secret.description, Expires: !secret.never };
  if (!secret.never && secret.expiration) body.Expiration = secret.expiration;
  setBusy($('as-submit'), true);
  try {
    const { data } = await api('POST', clientPath(flow.kind, flow.clientId, '/Secrets'), body);
    closeDialog(dialog);
    state.flow = null;
    showSuccess('Secret Successfully Added', flow.clientId, data.Secret);
    refreshAfterChange(true).catch(showError);
  } catch (e) {
    fail(e, [dialog]);
  } finally {
    setBusy($('as-submit'), false);
  }
}

// ---- resume after "Sign in again" ----

async function resume() {
  const r = readJson(KEY.resume);
  sessionStorage.removeItem(KEY.resume);
  if (!r) return;
  if (r.details && state.client && state.client.Id === r.details.id) restore($('d-form'), r.details.values);
  const flow = r.flow;
  if (!flow || !KINDS[flow.kind] || flow.kind !== state.kind) return;
  if (flow.type === 'create' && (r.dialog === 'add-client-dialog' || r.dialog === 'add-secret-dialog')) {
    await openAddClient(r.add, r.dialog === 'add-client-dialog');
    if (r.dialog === 'add-secret-dialog') {
      state.flow.secretFresh = false;
      openSecretDialog(state.flow, true, r.secret);
    }
  } else if (flow.type === 'secret' && r.dialog === 'add-secret-dialog' && state.client && state.client.Id === flow.clientId) {
    openSecretDialog(flow, true, r.secret);
  }
}

// ---- events and start ----

function guard(action) {
  return (ev) => Promise.resolve(action(ev)).catch(showError);
}

function bindEvents() {
  $('signin').addEventListener('click', guard(signIn));
  $('signin-again').addEventListener('click', guard(signInAgain));
  $('signout').addEventListener('click', guard(signOut));
  $('error-close').addEventListener('click', clearError);

  $('nav-clients').addEventListener('click', (ev) => {
    ev.preventDefault();
    $('page-title').focus();
    loadList().catch(showError);
  });
  $('client-type').addEventListener('change', onKindChange);
  $('filter').addEventListener('input', onFilterInput);
  $('prev').addEventListener('click', () => goToPage(state.skip - PAGE_SIZE));
  $('next').addEventListener('click', () => goToPage(state.skip + PAGE_SIZE));
  $('add-client').addEventListener('click', guard(() => openAddClient(null)));

  const body = $('clients').tBodies[0];
  body.addEventListener('click', (ev) => {
    const tr = ev.target.closest('tr[data-id]');
    if (tr) selectClient(tr.dataset.id, { reveal: true }).catch(selectFailed);
  });
  body.addEventListener('keydown', (ev) => {
    const tr = ev.target.closest('tr[data-id]');
    if (tr && ev.target === tr && (ev.key === 'Enter' || ev.key === ' ')) {
      ev.preventDefault();
      selectClient(tr.dataset.id, { focus: true }).catch(selectFailed);
    }
  });
  // Every button with data-copy (the row icons, the details, the success dialog).
  document.addEventListener('click', (ev) => {
    const button = ev.target.closest('button[data-copy]');
    if (button && button.dataset.copy) copyText(button.dataset.copy, button);
  });

  $('d-close').addEventListener('click', () => {
    const id = state.selectedId;
    closeDetails();
    const row = document.querySelector(`#clients tr[data-id="${CSS.escape(id || '')}"]`);
    (row || $('page-title')).focus();
  });
  $('d-form').addEventListener('submit', guard(saveDetails));
  $('d-toggle').addEventListener('click', guard(toggleEnabled));
  $('d-delete').addEventListener('click', guard(deleteClient));
  $('d-add-secret').addEventListener('click', () => {
    clearError();
    openSecretDialog({ type: 'secret', kind: state.kind, clientId: state.client.Id }, true);
  });
  $('d-secrets').addEventListener('click', (ev) => {
    const button = ev.target.closest('button.remove-secret');
    if (button) removeSecret(button.dataset.secretId).catch(showError);
  });

  $('ac-form').addEventListener('submit', guard(submitAddClient));
  $('ac-cancel').addEventListener('click', () => { closeDialog($('add-client-dialog')); state.flow = null; });
  $('as-form').addEventListener('submit', guard(submitSecret));
  $('as-cancel').addEventListener('click', cancelSecret);
  $('add-secret-dialog').addEventListener('cancel', () => { state.flow = null; });
  $('as-never').addEventListener('change', syncNeverExpires);
  $('success-close').addEventListener('click', () => closeDialog($('success-dialog')));
  $('success-dialog').addEventListener('close', () => {
    $('success-client-secret').textContent = ''; // shown once, then gone
    $('copy-client-secret').dataset.copy = '';
    const row = state.selectedId && document.querySelector(`#clients tr[data-id="${CSS.escape(state.selectedId)}"]`);
    (row || $('add-client')).focus();
  });
  $('confirm-yes').addEventListener('click', () => finishConfirm(true));
  $('confirm-no').addEventListener('click', () => finishConfirm(false));
  $('confirm-dialog').addEventListener('close', () => finishConfirm(false));
  for (const dialog of document.querySelectorAll('dialog')) dialog.addEventListener('close', placeBanners);

  bindListEditors();
  fillCopyButton($('d-copy-id'), '');
}

function selectFailed(err) {
  // The client may have been deleted meanwhile: say so and show the list as it is now.
  if (!(err instanceof SessionError)) closeDetails();
  showError(err);
  if (err instanceof ApiError && err.status === 404) loadList().catch(showError);
}

async function start() {
  bindEvents();
  restoreView();
  state.config = await loadConfig();
  state.meta = await discover(state.config.issuer);

  const query = new URLSearchParams(window.location.search);
  if (query.has('code') || query.has('error')) await completeSignIn(query);
  else if (window.location.search) window.history.replaceState(null, '', '/console/');

  state.tokens = readJson(KEY.tokens);
  if (state.tokens && Date.now() > state.tokens.expires_at - 5000 && (await renew()) !== 'ok') saveTokens(null);
  renderAuth();
  if (!state.tokens) return;
  scheduleRenewal();

  await loadList();
  if (state.selectedId) {
    try { await selectClient(state.selectedId); } catch (e) { closeDetails(); }
  }
  await resume();
}

document.addEventListener('DOMContentLoaded', () => {
  start().catch((e) => {
    renderAuth();
    showError(e);
  });
});
