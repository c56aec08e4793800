// Gatehouse console: the Audit log page (AuditEvents, Tenant Administrators only).
// Classic scripts loaded in order (core, auth, views, dialogs, audit) share one global scope.
'use strict';

const AUDIT_ACTIONS = [
  'Client.Create', 'Client.Update', 'Client.Delete', 'Client.SetRoles',
  'Secret.Create', 'Secret.Update', 'Secret.Delete',
  'User.Create', 'User.Update', 'User.Delete', 'User.SetPassword',
  'Role.Create', 'Role.Update', 'Role.Delete', 'Keys.Rotate',
  'SignIn', 'SignIn.Failed', 'SignIn.Throttled', 'Logout', 'TokenFamily.Revoke',
];

const audit = { skip: 0, total: 0, rows: [], seq: 0 };

/** Shows one page of the console: 'clients' or 'audit'. */
function showView(name) {
  $('clients-view').hidden = name !== 'clients';
  $('audit-view').hidden = name !== 'audit';
  for (const [id, view] of [['nav-clients', 'clients'], ['nav-audit', 'audit']]) {
    $(id).classList.toggle('active', view === name);
    if (view === name) $(id).setAttribute('aria-current', 'page');
    else $(id).removeAttribute('aria-current');
  }
  document.title = (name === 'audit' ? 'Audit log' : 'Clients') + ' – Gatehouse';
}

async function loadAudit() {
  const seq = ++audit.seq;
  let query = `AuditEvents?skip=${audit.skip}&count=${PAGE_SIZE}`;
  const action = $('audit-action').value;
  if (action) query += '&action=' + encodeURIComponent(action);
  $('audit').setAttribute('aria-busy', 'true');
  try {
    const { data, total } = await api('GET', query);
    if (seq !== audit.seq) return;
    audit.rows = Array.isArray(data) ? data : [];
    audit.total = total === null ? audit.skip + audit.rows.length : total;
    renderAudit();
  } finally {
    if (seq === audit.seq) $('audit').removeAttribute('aria-busy');
  }
}

function outcomeBadge(outcome) {
  return h('span', { class: 'badge ' + (outcome === 'Succeeded' ? 'badge-on' : 'badge-off'), text: outcome });
}

function renderAudit() {
  const body = $('audit').tBodies[0];
  body.replaceChildren(...audit.rows.map((e) => h('tr', { 'data-id': e.Id, 'data-action': e.Action },
    h('td', { class: 'a-time', text: new Date(e.Time).toLocaleString(), title: e.Time }),
    h('td', { class: 'a-action' }, h('code', { text: e.Action })),
    h('td', {}, outcomeBadge(e.Outcome)),
    h('td', { class: 'a-actor', title: e.ActorType, text: e.Actor }),
    h('td', { class: 'a-target', text: e.Target }),
    h('td', { class: 'a-source', text: e.Source || '' }),
    h('td', { class: 'a-detail', title: 'Operation Id ' + e.OperationId, text: e.Detail || '' }))));
  if (!audit.rows.length) {
    const text = $('audit-action').value ? 'No events of this action.' : 'No events yet.';
    body.append(h('tr', { class: 'empty' }, h('td', { colspan: '7', text })));
  }
  const end = audit.skip + audit.rows.length;
  $('audit-info').textContent = audit.total ? `${audit.skip + 1}–${end} of ${audit.total}` : '0 of 0';
  $('audit-prev').disabled = audit.skip === 0;
  $('audit-next').disabled = audit.skip + PAGE_SIZE >= audit.total;
}

function auditPage(skip) {
  audit.skip = Math.max(0, skip);
  loadAudit().catch(showError);
}

document.addEventListener('DOMContentLoaded', () => {
  $('audit-action').append(...AUDIT_ACTIONS.map((a) => h('option', { value: a, text: a })));
  $('nav-audit').addEventListener('click', (ev) => {
    ev.preventDefault();
    clearError();
    showView('audit');
    $('audit-title').focus();
    auditPage(0);
  });
  $('nav-clients').addEventListener('click', () => showView('clients'));
  $('audit-action').addEventListener('change', () => auditPage(0));
  $('audit-refresh').addEventListener('click', () => auditPage(audit.skip));
  $('audit-prev').addEventListener('click', () => auditPage(audit.skip - PAGE_SIZE));
  $('audit-next').addEventListener('click', () => auditPage(audit.skip + PAGE_SIZE));
});
