// The members page (#/members/<path>): the grants that apply in an account, its own and
// inherited ones with the account they come from; granting and revoking a role here or here
// and below, as kubectl mesh grant does.

import { el, show, seg, accountHref, api, message, watch, startPage, badge, ignoreSignedOut } from './lib.js';

const rbac = '/apis/rbac.authorization.k8s.io/v1';
const grantPrefix = 'accountmesh:grant:';

function subjectText(sub) {
  const name = sub.kind === 'ServiceAccount' ? sub.namespace + ':' + sub.name : sub.name;
  return (sub.kind === 'User' ? '' : sub.kind.toLowerCase() + ' ') + name;
}

function sameSubject(a, b) {
  return a.kind === b.kind && a.name === b.name && (a.namespace || '') === (b.namespace || '');
}

// changeGrant adds (or, with revoke, removes) subject in the ClusterRoleBinding that holds the
// grants of role here (and below, with inherit), as kubectl mesh grant does.
async function changeGrant(path, role, subject, inherit, revoke, signal) {
  const name = grantPrefix + role + (inherit ? ':inherited' : '');
  const url = path + rbac + '/clusterrolebindings/' + seg(name);
  const got = await api('GET', url, undefined, signal);
  if (got.status === 404 && !revoke) {
    const crb = {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding',
      metadata: { name, labels: inherit ? { 'accountmesh.io/inherit': 'true' } : undefined },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
      subjects: [subject],
    };
    return api('POST', path + rbac + '/clusterrolebindings', crb, signal);
  }
  if (got.status !== 200) return got;
  return updateSubjects(url, got.data, subject, revoke, signal);
}

// updateSubjects adds or removes subject in a binding read before (its resourceVersion
// guards the write); a binding left without subjects is deleted.
async function updateSubjects(url, binding, subject, revoke, signal) {
  const subjects = binding.subjects || [];
  const has = subjects.some((x) => sameSubject(x, subject));
  if (!revoke && has) return { status: 200, data: binding };
  if (revoke && !has) return { status: 404, data: { message: subjectText(subject) + ' holds no such grant here.' } };
  binding.subjects = revoke ? subjects.filter((x) => !sameSubject(x, subject)) : [...subjects, subject];
  if (binding.subjects.length === 0) {
    return api('DELETE', url, { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { resourceVersion: binding.metadata.resourceVersion } }, signal);
  }
  return api('PUT', url, binding, signal);
}

// membersPage lists the grants that apply in an account, its own and inherited ones with
// where they come from, and grants or revokes roles.
async function membersPage(path) {
  const signal = startPage();
  const list = el('ul', { class: 'children', id: 'grants' });
  const status = el('p', { class: 'muted', id: 'grants-status' }, 'Loading…');
  const err = el('p', { class: 'error', id: 'grant-error', role: 'alert' });
  const kind = el('select', { id: 'grant-kind', 'aria-label': 'Subject kind' }, el('option', { value: 'User' }, 'user'), el('option', { value: 'Group' }, 'group'));
  const who = el('input', { id: 'grant-subject', required: true, placeholder: 'user or group name', 'aria-label': 'Subject' });
  const role = el('select', { id: 'grant-role', 'aria-label': 'Role' }, ...['view', 'edit', 'admin'].map((r) => el('option', { value: r }, r)));
  const below = el('input', { id: 'grant-below', type: 'checkbox' });
  const load = async () => {
    const res = await api('GET', path + '/apis/authorization.accountmesh.io/v1alpha1/accessgrants', undefined, signal);
    if (res.status !== 200) { status.textContent = message(res); status.className = 'error'; list.replaceChildren(); return; }
    const rows = [];
    for (const g of res.data.items || []) {
      for (const sub of g.spec.subjects || []) rows.push(grantRow(path, g, sub, signal, load, err));
    }
    list.replaceChildren(...rows);
    status.textContent = rows.length ? '' : 'No grants.';
  };
  const form = el('form', {
    id: 'grant-form',
    onsubmit: async (e) => {
      e.preventDefault();
      err.textContent = '';
      const subject = { kind: kind.value, apiGroup: 'rbac.authorization.k8s.io', name: who.value.trim() };
      const r = await changeGrant(path, role.value, subject, below.checked, false, signal);
      if (r.status >= 300) { err.textContent = message(r); return; }
      who.value = '';
      await load();
    },
  }, el('label', {}, 'Kind', kind), el('label', { class: 'grow' }, 'Name', who), el('label', {}, 'Role', role),
  el('label', {}, el('span', {}, 'and below'), below), el('button', { type: 'submit', id: 'grant' }, 'Grant'));
  show(el('h1', {}, 'Members of ' + path),
    el('p', {}, el('a', { href: accountHref(path) }, '← ' + path)),
    el('section', { class: 'card' }, el('h2', {}, 'Grants'), status, list),
    el('section', { class: 'card' }, el('h2', {}, 'Grant a role'), form, err),
    invitesSection(path, signal));
  await load();
  // Grants of this account change with its bindings; list them again when those do.
  let pending = null;
  watch(path + rbac + '/clusterrolebindings', () => {}, () => {
    clearTimeout(pending);
    pending = setTimeout(() => load().catch(ignoreSignedOut), 300);
  }, signal).catch(ignoreSignedOut);
}

function grantRow(path, g, sub, signal, reload, err) {
  const s = g.spec;
  const here = s.account === path;
  const row = el('li', { dataset: { subject: subjectText(sub), role: s.roleRef.name, binding: s.name } },
    el('strong', {}, subjectText(sub)), el('span', {}, s.roleRef.name),
    s.namespace ? badge('namespace ' + s.namespace) : null,
    s.inheritable ? badge('and below', 'below') : null,
    here ? null : badge('inherited from ' + s.account, 'inherited'));
  if (here) {
    const url = path + rbac + (s.kind === 'RoleBinding' ? '/namespaces/' + seg(s.namespace) + '/rolebindings/' : '/clusterrolebindings/') + seg(s.name);
    row.append(el('button', {
      type: 'button', class: 'secondary spacer revoke',
      onclick: async () => {
        err.textContent = '';
        const got = await api('GET', url, undefined, signal);
        const r = got.status === 200 ? await updateSubjects(url, got.data, sub, true, signal) : got;
        if (r.status >= 300) { err.textContent = message(r); return; }
        await reload();
      },
    }, 'Revoke'));
  }
  return row;
}


const iam = '/apis/iam.accountmesh.io/v1alpha1';

// invitesSection lists the account's Invites, live, with a form to invite an email address to
// a role (here or here and below) and a button to revoke a pending invite. The server records
// who invited and checks the grant with their rights, now and when the invite is accepted.
function invitesSection(path, signal) {
  const list = el('ul', { class: 'children', id: 'invites' });
  const status = el('p', { class: 'muted', id: 'invites-status' }, 'Loading…');
  const err = el('p', { class: 'error', id: 'invite-error', role: 'alert' });
  const email = el('input', { id: 'invite-email', type: 'email', required: true, placeholder: 'name@example.com', 'aria-label': 'Email address' });
  const role = el('select', { id: 'invite-role', 'aria-label': 'Role' }, ...['view', 'edit', 'admin'].map((r) => el('option', { value: r }, r)));
  const below = el('input', { id: 'invite-below', type: 'checkbox' });
  const byName = new Map();
  const draw = () => {
    const items = [...byName.values()].sort((a, b) => a.metadata.creationTimestamp.localeCompare(b.metadata.creationTimestamp) || a.metadata.name.localeCompare(b.metadata.name));
    list.replaceChildren(...items.map((inv) => inviteRow(path, inv, signal, err)));
    status.textContent = items.length ? '' : 'No invites.';
  };
  watch(path + iam + '/invites', (items, failed) => {
    if (!items) { status.textContent = message(failed); status.className = 'error'; return; }
    byName.clear();
    for (const inv of items) byName.set(inv.metadata.name, inv);
    draw();
  }, (ev) => {
    if (ev.type === 'DELETED') byName.delete(ev.object.metadata.name);
    else byName.set(ev.object.metadata.name, ev.object);
    draw();
  }, signal).catch(ignoreSignedOut);
  const form = el('form', {
    id: 'invite-form',
    onsubmit: async (e) => {
      e.preventDefault();
      err.textContent = '';
      const r = await api('POST', path + iam + '/invites', {
        apiVersion: 'iam.accountmesh.io/v1alpha1', kind: 'Invite', metadata: { generateName: 'invite-' },
        spec: { email: email.value.trim(), role: role.value, inherit: below.checked || undefined },
      }, signal);
      if (r.status !== 201) { err.textContent = message(r); return; }
      email.value = '';
    },
  }, el('label', { class: 'grow' }, 'Email', email), el('label', {}, 'Role', role),
  el('label', {}, el('span', {}, 'and below'), below), el('button', { type: 'submit', id: 'invite' }, 'Invite'));
  return el('section', { class: 'card' }, el('h2', {}, 'Invites'),
    el('p', { class: 'muted' }, 'Whoever signs in with this verified email address gets the role.'),
    status, list, form, err);
}

function inviteRow(path, inv, signal, err) {
  const s = inv.spec || {};
  const st = inv.status || {};
  const phase = st.phase || 'Pending';
  const row = el('li', { dataset: { invite: inv.metadata.name, email: s.email, phase } },
    el('strong', {}, s.email), el('span', {}, s.role),
    s.inherit ? badge('and below', 'below') : null,
    badge(phase, 'phase phase-' + phase),
    st.user ? el('span', { class: 'muted' }, 'by ' + st.user) : null,
    phase === 'Pending' && s.expiresAt ? el('span', { class: 'muted' }, 'until ' + new Date(s.expiresAt).toLocaleString()) : null,
    st.message ? el('span', { class: 'muted' }, st.message) : null);
  if (phase === 'Pending') {
    row.append(el('button', {
      type: 'button', class: 'secondary spacer revoke-invite',
      onclick: async () => {
        err.textContent = '';
        const r = await api('DELETE', path + iam + '/invites/' + seg(inv.metadata.name), undefined, signal);
        if (r.status >= 300) err.textContent = message(r);
      },
    }, 'Revoke'));
  }
  return row;
}

function membersHref(path) {
  return '#/members/' + encodeURIComponent(path);
}

export { membersPage, membersHref };
