// The account page (#/account/<path>): AccountInfo, the children (live), creating a child of
// an allowed type and deleting one with a typed confirmation.

import { core, el, show, seg, accountHref, api, message, watch, startPage, badge, ignoreSignedOut } from './lib.js';
import { kubeconfigLink } from './oidc.js';
import { marketplaceHref } from './marketplace.js';
import { contextsHref } from './contexts.js';
import { membersHref } from './members.js';

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
      el('a', { href: membersHref(path), id: 'members-link' }, 'Members'), ' · ',
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


export { accountPage };
