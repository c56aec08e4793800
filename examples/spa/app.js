// A single-page app signing in with Gatehouse: authorization code flow with PKCE (S256),
// from the browser alone. See examples/spa.rs for how to register the client and run it.
//
// - The client id comes from `?client_id=` (or a prompt), the issuer from `?issuer=`
//   (default http://127.0.0.1:5000/identity); both are kept in sessionStorage so they
//   survive the round trip to the sign-in page.
// - state, nonce and the PKCE verifier are kept in sessionStorage only until the browser
//   comes back; the tokens are kept in memory only (a reload signs the page out locally).
// - Everything shown is set with textContent, never parsed as HTML.
'use strict';

const DEFAULT_ISSUER = 'http://127.0.0.1:5000/identity';
// Must be registered exactly (RedirectUris and PostLogoutRedirectUris): http://127.0.0.1:8081/
const REDIRECT_URI = window.location.origin + '/';
const SCOPES = 'openid profile email';
const KEY = { issuer: 'spa.issuer', clientId: 'spa.client_id', pending: 'spa.pending', logout: 'spa.logout_state' };

/** Tokens from the token endpoint: { access_token, id_token, expires_at }. Memory only. */
let tokens = null;
let metadata = null;

const $ = (id) => document.getElementById(id);

function setStatus(text) {
  $('status').textContent = text;
}

function showError(error) {
  const box = $('error');
  box.textContent = String(error && error.message ? error.message : error);
  box.hidden = false;
}

// ---- encoding and randomness ----

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
  const part = jwt.split('.')[1] || '';
  const binary = atob(part.replace(/-/g, '+').replace(/_/g, '/'));
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes));
}

// ---- configuration and discovery ----

function config() {
  const query = new URLSearchParams(window.location.search);
  const issuer = (query.get('issuer') || sessionStorage.getItem(KEY.issuer) || DEFAULT_ISSUER).replace(/\/+$/, '');
  const clientId = query.get('client_id') || sessionStorage.getItem(KEY.clientId) || '';
  sessionStorage.setItem(KEY.issuer, issuer);
  if (clientId) sessionStorage.setItem(KEY.clientId, clientId);
  $('issuer').textContent = issuer;
  $('client-id').textContent = clientId || '(not set)';
  return { issuer, clientId };
}

async function discover(issuer) {
  const response = await fetch(issuer + '/.well-known/openid-configuration');
  if (!response.ok) throw new Error('discovery answered ' + response.status);
  const meta = await response.json();
  if (meta.issuer !== issuer) throw new Error('discovery names another issuer: ' + meta.issuer);
  return meta;
}

// ---- sign in ----

/** What must be remembered between the authorize request and its response. */
function newPending(issuer, clientId) {
  return { issuer, clientId, verifier: randomString(32), state: randomString(16), nonce: randomString(16) };
}

async function authorizeUrl(pending, extra) {
  const url = new URL(metadata.authorization_endpoint);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('client_id', pending.clientId);
  url.searchParams.set('redirect_uri', REDIRECT_URI);
  url.searchParams.set('scope', SCOPES);
  url.searchParams.set('state', pending.state);
  url.searchParams.set('nonce', pending.nonce);
  url.searchParams.set('code_challenge', await s256(pending.verifier));
  url.searchParams.set('code_challenge_method', 'S256');
  for (const [k, v] of Object.entries(extra || {})) url.searchParams.set(k, v);
  return url.toString();
}

async function signIn() {
  let { issuer, clientId } = config();
  if (!clientId) {
    clientId = (window.prompt('Client id of the AuthorizationCode client') || '').trim();
    if (!clientId) return;
    sessionStorage.setItem(KEY.clientId, clientId);
  }
  const pending = newPending(issuer, clientId);
  sessionStorage.setItem(KEY.pending, JSON.stringify(pending));
  window.location.assign(await authorizeUrl(pending));
}

/** Back from the authorize endpoint with `code` (or `error`) and `state` in the query. */
async function completeSignIn(query) {
  const pending = JSON.parse(sessionStorage.getItem(KEY.pending) || 'null');
  sessionStorage.removeItem(KEY.pending);
  // The code must not stay in the address bar or the history.
  window.history.replaceState(null, '', '/');
  tokens = await redeem(query, pending);
  scheduleRenewal();
}

/** Checks an authorize response against the request it answers, and exchanges its code. */
async function redeem(query, pending) {
  if (!pending || query.get('state') !== pending.state) {
    throw new Error('The state does not match the one sent: the response is refused.');
  }
  // RFC 9207: the response names its issuer.
  if (query.has('iss') && query.get('iss') !== pending.issuer) {
    throw new Error('The response came from another issuer: ' + query.get('iss'));
  }
  if (query.has('error')) {
    throw new Error('Sign-in failed: ' + query.get('error') + ' ' + (query.get('error_description') || ''));
  }

  // The code exchange: a public client sends its id and the PKCE verifier, no secret.
  // A form body makes this a CORS "simple" request; the response is readable because the
  // client lists this page's origin in AllowedCorsOrigins.
  const response = await fetch(metadata.token_endpoint, {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: query.get('code') || '',
      redirect_uri: REDIRECT_URI,
      client_id: pending.clientId,
      code_verifier: pending.verifier,
    }),
  });
  const answer = await response.json();
  if (!response.ok) throw new Error('The token endpoint refused the code: ' + answer.error + ' ' + (answer.error_description || ''));

  // The ID token came straight from the token endpoint, so its signature need not be checked
  // here (OIDC Core §3.1.3.7, point 6, which assumes TLS: use https outside loopback); its
  // claims still must be.
  const claims = jwtPayload(answer.id_token);
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (claims.iss !== pending.issuer) throw new Error('ID token: wrong issuer ' + claims.iss);
  if (!audiences.includes(pending.clientId)) throw new Error('ID token: not issued to this client');
  if (claims.nonce !== pending.nonce) throw new Error('ID token: the nonce does not match');
  if (claims.exp * 1000 < Date.now()) throw new Error('ID token: expired');

  return {
    access_token: answer.access_token,
    id_token: answer.id_token,
    expires_at: new Date(Date.now() + answer.expires_in * 1000),
    claims,
  };
}

// ---- silent renewal ----

// As oidc-client-js's automaticSilentRenew: before the access token expires, the same
// request with prompt=none runs in a hidden iframe. The authorize endpoint answers with a
// redirect back to this page (inside the frame), which hands its URL to this window. It
// works while the browser sends the server's session cookie to the frame: for an app on
// the same site as the server (SameSite=Lax). Elsewhere the answer is login_required.
const RENEW_AHEAD_MS = 60 * 1000;
const RENEW_TIMEOUT_MS = 10 * 1000;
let renewals = 0;
let renewTimer = null;

/** Loads `url` in a hidden iframe and answers the URL it comes back to on this origin. */
function frameResponse(url) {
  return new Promise((resolve, reject) => {
    const frame = document.createElement('iframe');
    frame.hidden = true;
    frame.title = 'silent renewal';
    let timer = null;
    const onMessage = (event) => {
      if (event.origin !== window.location.origin || event.source !== frame.contentWindow) return;
      finish();
      resolve(new URL(String(event.data)));
    };
    const finish = () => {
      window.removeEventListener('message', onMessage);
      clearTimeout(timer);
      frame.remove();
    };
    timer = setTimeout(() => {
      finish();
      reject(new Error('Silent renewal timed out: the server did not send the frame back.'));
    }, RENEW_TIMEOUT_MS);
    window.addEventListener('message', onMessage);
    frame.src = url;
    document.body.appendChild(frame);
  });
}

async function renewSilently() {
  const { issuer, clientId } = config();
  const pending = newPending(issuer, clientId);
  const back = await frameResponse(await authorizeUrl(pending, { prompt: 'none' }));
  const next = await redeem(new URLSearchParams(back.search), pending);
  if (tokens && next.claims.sub !== tokens.claims.sub) throw new Error('Silent renewal answered for another user.');
  tokens = next;
  renewals += 1;
  render();
  scheduleRenewal();
}

function scheduleRenewal() {
  clearTimeout(renewTimer);
  if (!tokens) return;
  const delay = Math.max(tokens.expires_at - Date.now() - RENEW_AHEAD_MS, 10 * 1000);
  renewTimer = setTimeout(() => renewSilently().catch(showError), delay);
}

// ---- using the access token ----

async function callUserinfo() {
  // The Authorization header makes this request preflighted; Gatehouse answers the
  // preflight for registered origins.
  const response = await fetch(metadata.userinfo_endpoint, {
    headers: { Authorization: 'Bearer ' + tokens.access_token },
  });
  if (!response.ok) {
    throw new Error('userinfo answered ' + response.status + ' ' + (response.headers.get('WWW-Authenticate') || ''));
  }
  $('userinfo').textContent = JSON.stringify(await response.json(), null, 2);
}

// ---- sign out ----

async function signOut() {
  const { clientId } = config();
  const current = tokens;
  tokens = null;
  clearTimeout(renewTimer);
  // Best effort: revoke the access token first (public clients authenticate with client_id only).
  if (metadata.revocation_endpoint) {
    try {
      await fetch(metadata.revocation_endpoint, {
        method: 'POST',
        body: new URLSearchParams({ token: current.access_token, token_type_hint: 'access_token', client_id: clientId }),
      });
    } catch (e) {
      console.warn('revocation failed', e);
    }
  }
  // RP-initiated logout: Gatehouse ends its session and sends the browser back here with `state`.
  const state = randomString(16);
  sessionStorage.setItem(KEY.logout, state);
  const url = new URL(metadata.end_session_endpoint);
  url.searchParams.set('id_token_hint', current.id_token);
  url.searchParams.set('client_id', clientId);
  url.searchParams.set('post_logout_redirect_uri', REDIRECT_URI);
  url.searchParams.set('state', state);
  window.location.assign(url.toString());
}

// ---- page ----

function render() {
  $('signed-in').hidden = !tokens;
  $('signed-out').hidden = !!tokens;
  if (tokens) {
    setStatus('Signed in as ' + (tokens.claims.preferred_username || tokens.claims.sub) + '.');
    $('expiry').textContent = 'The access token expires at ' + tokens.expires_at.toLocaleString() + '.';
    $('claims').textContent = JSON.stringify(tokens.claims, null, 2);
    $('token-id').textContent = jwtPayload(tokens.access_token).jti;
    $('renewals').textContent = String(renewals);
  }
}

function guard(action) {
  return () => action().catch(showError);
}

async function start() {
  $('sign-in').addEventListener('click', guard(signIn));
  $('sign-out').addEventListener('click', guard(signOut));
  $('call-userinfo').addEventListener('click', guard(callUserinfo));
  $('renew').addEventListener('click', guard(renewSilently));

  const query = new URLSearchParams(window.location.search);
  const { issuer } = config();
  metadata = await discover(issuer);

  if (query.has('code') || query.has('error')) {
    setStatus('Completing sign-in…');
    await completeSignIn(query);
    render();
    await callUserinfo();
    return;
  }
  if (query.has('state')) {
    // Back from the end-session endpoint.
    const expected = sessionStorage.getItem(KEY.logout);
    sessionStorage.removeItem(KEY.logout);
    window.history.replaceState(null, '', '/');
    render();
    setStatus(query.get('state') === expected ? 'You are signed out.' : 'Not signed in (unknown sign-out state ignored).');
    return;
  }
  render();
  setStatus('Not signed in.');
}

if (window.parent !== window) {
  // Inside the silent-renewal frame, back from the authorize endpoint: hand the answer
  // (code or error, in the URL) to the page that opened the frame, on this origin only.
  window.parent.postMessage(window.location.href, window.location.origin);
} else {
  document.addEventListener('DOMContentLoaded', () => {
    start().catch((e) => {
      render();
      setStatus('Not signed in.');
      showError(e);
    });
  });
}
