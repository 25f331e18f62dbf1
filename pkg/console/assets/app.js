// The Account Mesh console: a small single-page app. Every API call goes through the console
// proxy (/console/api/clusters/...) as the signed-in user; all data is rendered as text nodes,
// never as HTML.

import { signInProviders, kubeconfigLink } from './oidc.js';
import { marketplaceRoute, marketplaceHref } from './marketplace.js';
import { contextsRoute, contextsHref } from './contexts.js';
import { resourcesPage } from './resources.js';

const core = '/apis/core.accountmesh.io/v1alpha1';
const state = { csrf: '', user: '', account: 'root', page: null };

class SignedOut extends Error {}

// el builds an element; string children become text nodes.
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

const main = () => document.getElementById('main');

function show(...nodes) {
  main().replaceChildren(...nodes);
}

// seg encodes a name for a URL path segment, keeping ":" as it is.
function seg(name) {
  return encodeURIComponent(name).replace(/%3A/gi, ':');
}

function accountHref(path) {
  return '#/account/' + encodeURIComponent(path);
}

// api calls the API through the console proxy and returns {status, data}.
async function api(method, path, body, signal) {
  const headers = { 'X-CSRF-Token': state.csrf, Accept: 'application/json' };
  const init = { method, headers, credentials: 'same-origin', signal };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const r = await fetch('/console/api/clusters/' + path, init);
  let data = null;
  try { data = await r.json(); } catch { data = null; }
  // A page left while its call was under way gets no half-read answer.
  if (signal && signal.aborted) throw new DOMException('the page was left', 'AbortError');
  if (r.status === 401) {
    signInPage('Your session has ended: sign in again.');
    throw new SignedOut();
  }
  return { status: r.status, data };
}

// message returns what a failed call says, without naming anything the user did not ask for.
function message(res) {
  if (res.status === 403) return 'You have no access here.';
  if (res.status === 404) return 'Not found.';
  return (res.data && res.data.message) || 'The request failed (' + res.status + ').';
}

// watch lists path, calls onList with the items, then streams changes to onEvent, resuming
// from the last resourceVersion when the stream ends and listing again after 410 Gone.
async function watch(path, onList, onEvent, signal) {
  for (;;) {
    const res = await api('GET', path, undefined, signal);
    if (res.status !== 200) { onList(null, res); return; }
    onList(res.data.items || []);
    let rv = res.data.metadata.resourceVersion;
    let gone = false;
    while (!gone && !signal.aborted) {
      try {
        const r = await fetch('/console/api/clusters/' + path + (path.includes('?') ? '&' : '?') +
          'watch=1&allowWatchBookmarks=true&resourceVersion=' + encodeURIComponent(rv),
          { headers: { 'X-CSRF-Token': state.csrf, Accept: 'application/json' }, credentials: 'same-origin', signal });
        if (r.status === 401) { signInPage('Your session has ended: sign in again.'); return; }
        if (!r.ok) { await sleep(2000, signal); continue; }
        gone = await readWatch(r, (ev) => {
          if (ev.type === 'ERROR') return false;
          if (ev.object && ev.object.metadata) rv = ev.object.metadata.resourceVersion;
          if (ev.type !== 'BOOKMARK') onEvent(ev);
          return true;
        });
      } catch (e) {
        if (signal.aborted) return;
        await sleep(2000, signal);
      }
    }
    if (signal.aborted) return;
  }
}

// readWatch hands each event of a watch response to onEvent until the stream ends (false) or
// onEvent returns false (true: the watch is gone and the caller lists again).
async function readWatch(r, onEvent) {
  const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return false;
    buf += value;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i).trim();
      buf = buf.slice(i + 1);
      if (line && onEvent(JSON.parse(line)) === false) {
        reader.cancel();
        return true;
      }
    }
  }
}

// sleep waits ms, or until signal aborts.
function sleep(ms, signal) {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
  });
}

function header() {
  const who = document.getElementById('who');
  if (!state.csrf) { who.replaceChildren(); return; }
  who.replaceChildren(
    el('span', { class: 'muted', id: 'user' }, state.user || 'signed in'),
    ' ',
    el('button', { class: 'secondary', id: 'signout', type: 'button', onclick: signOut }, 'Sign out'),
  );
}

async function signOut() {
  await fetch('/console/session', { method: 'DELETE', headers: { 'X-CSRF-Token': state.csrf }, credentials: 'same-origin' });
  state.csrf = '';
  signInPage('Signed out.');
}

function signInPage(note) {
  stopPage();
  state.csrf = '';
  header();
  const token = el('textarea', { id: 'token', name: 'token', required: true, autocomplete: 'off', spellcheck: 'false' });
  const account = el('input', { id: 'account', name: 'account', value: state.account || 'root' });
  const err = el('p', { class: 'error', id: 'signin-error', role: 'alert' });
  const form = el('form', {
    onsubmit: async (e) => {
      e.preventDefault();
      err.textContent = '';
      const r = await fetch('/console/session', {
        method: 'POST', credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ token: token.value, account: account.value }),
      });
      const data = await r.json().catch(() => null);
      if (r.status !== 201) { err.textContent = (data && data.message) || 'Sign-in failed.'; return; }
      signedIn(data);
      location.hash = '#/';
      route();
    },
  },
  el('label', {}, 'Bearer token (a ServiceAccount token or an OIDC ID token)', token),
  el('label', {}, 'Account', account),
  el('button', { type: 'submit', id: 'signin' }, 'Sign in'));
  show(el('section', { class: 'card signin' }, el('h1', {}, 'Sign in'),
    note ? el('p', { class: 'muted' }, note) : null, form, err, signInProviders(account)));
  token.focus();
}

function signedIn(data) {
  state.csrf = data.csrfToken;
  state.user = data.user || '';
  state.account = data.account;
  header();
}

// A page owns an AbortController that ends its watches when another page is shown.
function startPage() {
  stopPage();
  state.page = new AbortController();
  return state.page.signal;
}

function stopPage() {
  if (state.page) state.page.abort();
  state.page = null;
}

function badge(text, cls) {
  return text ? el('span', { class: 'badge ' + (cls || '') }, text) : null;
}

// treePage lists the accounts the user can access below the sign-in account, with search.
async function treePage() {
  const signal = startPage();
  const search = el('input', { id: 'search', type: 'search', placeholder: 'Search by name or path', 'aria-label': 'Search accounts' });
  const list = el('ul', { class: 'tree', id: 'tree' });
  const status = el('p', { class: 'muted', id: 'tree-status' }, 'Loading…');
  show(el('h1', {}, 'Accounts'), el('section', { class: 'card' }, search, status, list));
  let items = [];
  const phases = new Map();
  const draw = () => {
    const q = search.value.trim().toLowerCase();
    const shown = items.filter((a) => !q || a.spec.path.toLowerCase().includes(q));
    list.replaceChildren(...shown.map((a) => {
      const depth = a.spec.path.split(':').length - 1;
      const li = el('li', { dataset: { path: a.spec.path } },
        el('a', { href: accountHref(a.spec.path) }, a.spec.path), badge(a.spec.type, 'type'),
        badge(phases.get(a.spec.path), 'phase phase-' + phases.get(a.spec.path)));
      li.style.paddingLeft = (depth * 1.2) + 'rem';
      return li;
    }));
    status.textContent = shown.length ? '' : (items.length ? 'No account matches.' : 'You can access no account here.');
  };
  search.addEventListener('input', draw);
  const load = async () => {
    const res = await api('GET', state.account + '/apis/authorization.accountmesh.io/v1alpha1/accessibleaccounts', undefined, signal);
    if (res.status !== 200) { status.textContent = message(res); status.className = 'error'; return; }
    items = res.data.items || [];
    draw();
    // Phases come from the Account objects, in the parents the user may read.
    const parents = [...new Set(items.map((a) => a.spec.path.slice(0, a.spec.path.lastIndexOf(':'))))].filter(Boolean).slice(0, 50);
    await Promise.all(parents.map(async (p) => {
      const r = await api('GET', p + core + '/accounts', undefined, signal);
      if (r.status === 200) for (const x of r.data.items || []) phases.set(p + ':' + x.metadata.name, x.status && x.status.phase);
    }));
    draw();
  };
  await load();
  // Accessible accounts cannot be watched: the tree lists them again when the sign-in
  // account's children change.
  let pending = null;
  watch(state.account + core + '/accounts', () => {}, () => {
    clearTimeout(pending);
    pending = setTimeout(() => load().catch(ignoreSignedOut), 300);
  }, signal).catch(ignoreSignedOut);
}

// allowedTypes returns the names of the types a child of an account of type parentType may
// have, from the types the user can read in root, the organisation and the account; the
// server decides in the end.
async function allowedTypes(info, signal) {
  const places = ['root'];
  if (info.organization && info.organization.path) places.push(info.organization.path);
  places.push(info.path);
  const defs = new Map();
  for (const p of [...new Set(places)]) {
    const res = await api('GET', p + core + '/accounttypes', undefined, signal);
    if (res.status !== 200) continue;
    for (const t of res.data.items || []) defs.set(t.metadata.name, t.spec || {});
  }
  const resolve = (name) => {
    const lineage = [];
    const eff = { allowedParents: [], allowedChildren: [] };
    const chain = [];
    for (let n = name; n && chain.length < 10 && defs.has(n); n = defs.get(n).extends) chain.push([n, defs.get(n)]);
    for (const [n] of chain) lineage.push(n);
    for (const [, s] of chain.reverse()) {
      if (s.allowedParents && s.allowedParents.length) eff.allowedParents = s.allowedParents;
      if (s.allowedChildren && s.allowedChildren.length) eff.allowedChildren = s.allowedChildren;
    }
    return { lineage, ...eff };
  };
  const parent = resolve(info.type);
  const isAny = (t, names) => !names.length || names.some((n) => t.lineage.includes(n));
  return [...defs.keys()].filter((n) => n !== 'root' && n !== 'shadow').filter((n) => {
    const child = resolve(n);
    return isAny(child, parent.allowedChildren) && isAny(parent, child.allowedParents);
  }).sort();
}

function ignoreSignedOut(e) {
  if (!(e instanceof SignedOut) && e.name !== 'AbortError') console.warn(e);
}

// accountPage shows an account: its AccountInfo, its children (live), and forms to create and
// delete children.
async function accountPage(path) {
  const signal = startPage();
  show(el('h1', {}, path), el('p', { class: 'muted' }, 'Loading…'));
  const res = await api('GET', path + core + '/accountinfos/account', undefined, signal);
  if (res.status !== 200) {
    show(el('h1', {}, path), el('p', { class: 'error', id: 'account-error' }, message(res)));
    return;
  }
  const s = res.data.spec || {};
  const field = (k, v) => (v ? [el('dt', {}, k), el('dd', {}, v)] : []);
  const info = el('dl', { id: 'accountinfo' },
    field('Path', s.path), field('Cluster ID', s.clusterID), field('Type', s.type),
    field('Parent', s.parent && s.parent.path), field('Organisation', s.organization && s.organization.path),
    field('Owner', s.owner), field('Created', s.createdAt));
  const children = el('ul', { class: 'children', id: 'children' });
  const childStatus = el('p', { class: 'muted', id: 'children-status' }, 'Loading…');
  const formError = el('p', { class: 'error', id: 'create-error', role: 'alert' });
  const name = el('input', { id: 'child-name', required: true, placeholder: 'name', 'aria-label': 'Name of the new account' });
  const display = el('input', { id: 'child-display', placeholder: 'display name (optional)', 'aria-label': 'Display name' });
  const type = el('select', { id: 'child-type', 'aria-label': 'Type' }, el('option', { value: '' }, 'default type'));
  const create = el('form', {
    id: 'create-child',
    onsubmit: async (e) => {
      e.preventDefault();
      formError.textContent = '';
      const spec = {};
      if (type.value) spec.type = type.value;
      if (display.value.trim()) spec.displayName = display.value.trim();
      const r = await api('POST', path + core + '/accounts', {
        apiVersion: 'core.accountmesh.io/v1alpha1', kind: 'Account', metadata: { name: name.value.trim() }, spec,
      }, signal);
      if (r.status !== 201) { formError.textContent = message(r); return; }
      name.value = '';
      display.value = '';
    },
  }, el('label', { class: 'grow' }, 'Name', name), el('label', {}, 'Type', type), el('label', {}, 'Display name', display),
  el('button', { type: 'submit', id: 'create' }, 'Create account'));
  show(el('h1', {}, path),
    el('p', {}, el('a', { href: '#/' }, '← all accounts'), ' · ',
      el('a', { href: '#/members/' + encodeURIComponent(path), id: 'members-link' }, 'Members'), ' · ',
      el('a', { href: marketplaceHref(path), id: 'marketplace-link' }, 'Marketplace'), ' · ',
      el('a', { href: contextsHref(path), id: 'orchestration-link' }, 'Orchestration contexts'), ' · ',
      el('a', { href: '#/resources/' + encodeURIComponent(path), id: 'resources-link' }, 'Resources'), ' · ', kubeconfigLink(path)),
    el('section', { class: 'card' }, el('h2', {}, 'Account'), info),
    el('section', { class: 'card' }, el('h2', {}, 'Child accounts'), childStatus, children),
    el('section', { class: 'card' }, el('h2', {}, 'Create a child account'), create, formError));
  allowedTypes(s, signal).then((names) => {
    type.append(...names.map((n) => el('option', { value: n }, n)));
  }).catch(ignoreSignedOut);

  // Rows stay in place while the watch updates them, so that a delete being confirmed in one
  // is not thrown away when any child changes.
  const byName = new Map();
  const rows = new Map();
  const draw = () => {
    const names = [...byName.keys()].sort((a, b) => a.localeCompare(b));
    for (const [n, r] of rows) {
      if (!byName.has(n)) { r.row.remove(); rows.delete(n); }
    }
    names.forEach((n, i) => {
      let r = rows.get(n);
      if (r) r.update(byName.get(n));
      else { r = childRow(path, byName.get(n), signal); rows.set(n, r); }
      if (children.children[i] !== r.row) children.insertBefore(r.row, children.children[i] || null);
    });
    childStatus.textContent = names.length ? '' : 'No child accounts.';
  };
  watch(path + core + '/accounts', (items, failed) => {
    if (!items) { childStatus.textContent = message(failed); return; }
    byName.clear();
    for (const a of items) byName.set(a.metadata.name, a);
    draw();
  }, (ev) => {
    if (ev.type === 'DELETED') byName.delete(ev.object.metadata.name);
    else byName.set(ev.object.metadata.name, ev.object);
    draw();
  }, signal).catch(ignoreSignedOut);
}

// childRow returns a child's row and a function that shows a newer version of the child in it,
// leaving its delete confirmation as it is.
function childRow(path, a, signal) {
  const n = a.metadata.name;
  const info = el('span', { class: 'contents' });
  const update = (a) => {
    const st = a.status || {};
    info.replaceChildren(...[el('a', { href: accountHref(path + ':' + n) }, n),
      a.spec && a.spec.displayName ? el('span', { class: 'muted' }, a.spec.displayName) : null,
      badge(a.spec && a.spec.type, 'type'), badge(st.phase, 'phase phase-' + (st.phase || ''))].filter(Boolean));
  };
  update(a);
  const row = el('li', { dataset: { name: n } }, info);
  const confirm = el('input', { 'aria-label': 'Type ' + n + ' to confirm', placeholder: 'type ' + n + ' to confirm', class: 'confirm' });
  const go = el('button', { type: 'button', class: 'danger', disabled: true }, 'Delete');
  const err = el('span', { class: 'error', role: 'alert' });
  confirm.addEventListener('input', () => { go.disabled = confirm.value !== n; });
  go.addEventListener('click', async () => {
    const r = await api('DELETE', path + core + '/accounts/' + seg(n), undefined, signal);
    if (r.status !== 200 && r.status !== 202) err.textContent = message(r);
  });
  const box = el('span', { class: 'spacer' });
  const ask = el('button', {
    type: 'button', class: 'secondary', onclick: () => { box.replaceChildren(confirm, ' ', go, ' ', err); confirm.focus(); },
  }, 'Delete…');
  box.append(ask);
  row.append(box);
  return { row, update };
}

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
    el('section', { class: 'card' }, el('h2', {}, 'Grant a role'), form, err));
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

function route() {
  if (!state.csrf) return;
  const h = location.hash;
  if (h.startsWith('#/account/')) accountPage(decodeURIComponent(h.slice('#/account/'.length))).catch(ignoreSignedOut);
  else if (h.startsWith('#/members/')) membersPage(decodeURIComponent(h.slice('#/members/'.length))).catch(ignoreSignedOut);
  else if (h.startsWith('#/marketplace/')) marketplaceRoute(h.slice('#/marketplace/'.length)).catch(ignoreSignedOut);
  else if (h.startsWith('#/contexts/')) contextsRoute(h.slice('#/contexts/'.length)).catch(ignoreSignedOut);
  else if (h.startsWith('#/resources/')) {
    resourcesPage(h.slice('#/resources/'.length)).catch(ignoreSignedOut);
  } else treePage().catch(ignoreSignedOut);
}

async function start() {
  window.addEventListener('hashchange', route);
  const r = await fetch('/console/session', { credentials: 'same-origin' });
  if (r.status !== 200) { signInPage(); return; }
  signedIn(await r.json());
  route();
}

// The helpers the pages of other modules use.
// What the pages' modules take from here.
export {
  el, api, watch, readWatch, sleep, message, show, startPage, accountHref, badge, seg, ignoreSignedOut, state, signInPage, SignedOut,
};

start();
