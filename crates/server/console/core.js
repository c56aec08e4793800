// Gatehouse admin console: manage the clients of a tenant through the admin API.
//
// - Sign-in: authorization code + PKCE (S256) + state + nonce, as in examples/spa/app.js.
//   Tokens live in sessionStorage and are renewed with the refresh token before they expire.
// - Everything shown is set with textContent, never parsed as HTML. No inline code or
//   styles: the page runs under a strict Content-Security-Policy.
// - Browser tests drive this page by element ids (see index.html); keep them stable.
//
// Classic scripts loaded in order (core, auth, views, dialogs) share one global scope.
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
  DeviceCode: { label: 'Device Code', collection: 'DeviceCodeClients', secrets: false },
};
/** Kinds whose users come through the authorize endpoint (redirect URLs). */
const REDIRECTS = (kind) => kind === 'AuthorizationCode' || kind === 'Hybrid';
/** Kinds with the Allow Refresh Token checkbox. */
const REFRESH = (kind) => kind === 'Hybrid' || kind === 'DeviceCode';
// API property -> words shown to the user: [one item, the whole field].
const FIELD_LABELS = {
  Name: ['Name'],
  RedirectUris: ['Allowed Redirect URL', 'Allowed Redirect URL(s)'],
  PostLogoutRedirectUris: ['Allowed Logout Redirect URL', 'Allowed Logout Redirect URL(s)'],
  AllowedCorsOrigins: ['Allowed CORS Origin', 'Allowed CORS Origin(s)'],
  AccessTokenLifetime: ['Token Lifetime'],
  DeviceCodeLifetime: ['Device Code Lifetime'],
  AllowOfflineAccess: ['Allow Refresh Token'],
  IdTokenSigningAlgorithm: ['ID Token Signing Algorithm'],
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

/** The values of the inputs, selects and URL lists under `root`, by element id. */
function snapshot(root) {
  const s = {};
  for (const el of root.querySelectorAll('input[id], select[id]')) s[el.id] = el.type === 'checkbox' ? el.checked : el.value;
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
