// Gatehouse console: Signing in with our own protocol, renewal, signing out, and the admin API client.
// Classic scripts loaded in order (core, auth, views, dialogs) share one global scope.
'use strict';

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
  // RFC 9207: the server advertises `iss` on every response, so a missing one is refused too.
  if (query.get('iss') !== state.config.issuer) {
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
