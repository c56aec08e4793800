// Gatehouse console: Banners and field errors, URL list editors, roles, the client list and the details pane.
// Classic scripts loaded in order (core, auth, views, dialogs) share one global scope.
'use strict';

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
    const input = wrapper.querySelector('input:not([type=checkbox]):not(:disabled), input:not(:disabled), select:not(:disabled)');
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
function readLifetime(input, root, field = 'AccessTokenLifetime', words = 'Token Lifetime', max = 3600) {
  if (input.value === '' && !input.validity.badInput) return null;
  const n = Number(input.value);
  if (input.validity.badInput || !Number.isInteger(n)) {
    showFieldMessage([root], field, `${words} must be a whole number of seconds, from 60 to ${max}.`);
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
  $('d-device-lifetime').value = kind === 'DeviceCode' ? c.DeviceCodeLifetime : '';
  $('d-id-token-alg').value = c.IdTokenSigningAlgorithm || 'RS256';
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
  if (kind === 'DeviceCode') {
    const deviceLifetime = readLifetime($('d-device-lifetime'), pane, 'DeviceCodeLifetime', 'Device Code Lifetime', 1800);
    if (deviceLifetime === undefined) return;
    if (deviceLifetime !== null && deviceLifetime !== c.DeviceCodeLifetime) body.DeviceCodeLifetime = deviceLifetime;
  }
  if (REDIRECTS(kind)) {
    const redirect = listValues($('d-redirect-list'));
    const logout = listValues($('d-logout-list'));
    if (!same(redirect, c.RedirectUris)) body.RedirectUris = redirect;
    if (!same(logout, c.PostLogoutRedirectUris)) body.PostLogoutRedirectUris = logout;
  }
  if (kind !== 'ClientCredential' && $('d-id-token-alg').value !== c.IdTokenSigningAlgorithm) {
    body.IdTokenSigningAlgorithm = $('d-id-token-alg').value;
  }
  if (kind === 'AuthorizationCode') {
    const cors = listValues($('d-cors-list'));
    if (!same(cors, c.AllowedCorsOrigins)) body.AllowedCorsOrigins = cors;
  }
  if (REFRESH(kind) && $('d-refresh').checked !== !!c.AllowOfflineAccess) body.AllowOfflineAccess = $('d-refresh').checked;
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
