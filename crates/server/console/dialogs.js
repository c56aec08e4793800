// Gatehouse console: Dialogs: add client (and its first secret), add secret, resuming after "Sign in again", events and start.
// Classic scripts loaded in order (core, auth, views, dialogs) share one global scope.
'use strict';

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
  if (state.flow.kind === 'DeviceCode'
    && readLifetime($('ac-device-lifetime'), dialog, 'DeviceCodeLifetime', 'Device Code Lifetime', 1800) === undefined) return;
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
  if (REDIRECTS(kind)) {
    body.RedirectUris = listValues($('ac-redirect-list'));
    body.PostLogoutRedirectUris = listValues($('ac-logout-list'));
  }
  if (kind !== 'ClientCredential') body.IdTokenSigningAlgorithm = $('ac-id-token-alg').value;
  if (kind === 'AuthorizationCode') body.AllowedCorsOrigins = listValues($('ac-cors-list'));
  if (REFRESH(kind)) body.AllowOfflineAccess = $('ac-refresh').checked;
  if (kind === 'DeviceCode') {
    const deviceLifetime = Number($('ac-device-lifetime').value);
    if ($('ac-device-lifetime').value !== '' && Number.isInteger(deviceLifetime)) body.DeviceCodeLifetime = deviceLifetime;
  }
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
