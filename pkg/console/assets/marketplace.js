// The marketplace pages of the console: an account's MarketplaceEntries (what the signed-in
// user may bind there, as the server computes it for them) with a category filter, an entry's
// details with a bind form (plan, and an explicit answer to every permission claim), and the
// account's bound services with unbind. Every call goes through the console proxy as the user:
// the server decides what is listed and whether a bind is allowed. All data is rendered as text.

import { el, api, watch, message, show, startPage, accountHref, badge, seg, ignoreSignedOut } from './lib.js';

const market = '/apis/marketplace.accountmesh.io/v1alpha1/marketplaceentries';
const bindings = '/apis/apis.accountmesh.io/v1alpha1/apibindings';
const categoryPrefix = 'category.accountmesh.io/';

export function marketplaceHref(path, entry) {
  return '#/marketplace/' + encodeURIComponent(path) + (entry ? '/' + encodeURIComponent(entry) : '');
}

// marketplaceRoute shows #/marketplace/<account>[/<entry>].
export async function marketplaceRoute(rest) {
  const [path, entry] = rest.split('/').map(decodeURIComponent);
  if (entry) return entryPage(path, entry);
  return marketplacePage(path);
}

function condition(obj, type) {
  return ((obj.status && obj.status.conditions) || []).find((c) => c.type === type);
}

function conditionBadge(obj, type, cls) {
  const c = condition(obj, type);
  if (!c) return null;
  return el('span', { class: 'badge ' + cls + ' cond-' + c.status, dataset: { status: c.status, reason: c.reason || '' }, title: c.message || '' },
    type + ': ' + c.status + (c.reason ? ' (' + c.reason + ')' : ''));
}

function categories(e) {
  return Object.keys((e.metadata && e.metadata.labels) || {})
    .filter((k) => k.startsWith(categoryPrefix)).map((k) => k.slice(categoryPrefix.length)).sort();
}

function title(e) {
  return (e.spec.catalog && e.spec.catalog.displayName) || e.spec.export;
}

// selectorText says which objects a label selector picks.
function selectorText(s) {
  if (!s) return 'all objects';
  const parts = Object.entries(s.matchLabels || {}).map(([k, v]) => k + '=' + v);
  for (const x of s.matchExpressions || []) parts.push(x.key + ' ' + x.operator + (x.values && x.values.length ? ' (' + x.values.join(', ') + ')' : ''));
  return parts.length ? 'objects labelled ' + parts.join(', ') : 'all objects';
}

function claimText(c) {
  return (c.verbs || []).join(', ') + ' on ' + (c.group ? c.resource + '.' + c.group : c.resource) + ', ' + selectorText(c.selector);
}

// marketplacePage lists the entries of an account, live, with a category filter, and the
// account's bound services.
async function marketplacePage(path) {
  const signal = startPage();
  const filter = el('select', { id: 'category', 'aria-label': 'Category' }, el('option', { value: '' }, 'all categories'));
  const list = el('ul', { class: 'children', id: 'entries' });
  const status = el('p', { class: 'muted', id: 'market-status' }, 'Loading…');
  const bound = el('ul', { class: 'children', id: 'bindings' });
  const boundStatus = el('p', { class: 'muted', id: 'bindings-status' }, 'Loading…');
  show(el('h1', {}, 'Marketplace of ' + path),
    el('p', {}, el('a', { href: accountHref(path) }, '← ' + path)),
    el('section', { class: 'card' }, el('h2', {}, 'Services you may bind here'), el('label', {}, 'Category', filter), status, list),
    el('section', { class: 'card' }, el('h2', {}, 'Bound services'), boundStatus, bound));

  const entries = new Map();
  let failed = null;
  const draw = () => {
    if (failed) { status.textContent = message(failed); status.className = 'error'; list.replaceChildren(); return; }
    const cats = [...new Set([...entries.values()].flatMap(categories))].sort();
    const chosen = filter.value;
    filter.replaceChildren(el('option', { value: '' }, 'all categories'), ...cats.map((c) => el('option', { value: c }, c)));
    filter.value = cats.includes(chosen) ? chosen : '';
    const shown = [...entries.values()].filter((e) => !filter.value || categories(e).includes(filter.value))
      .sort((a, b) => title(a).localeCompare(title(b)) || a.metadata.name.localeCompare(b.metadata.name));
    list.replaceChildren(...shown.map((e) => entryRow(path, e)));
    status.className = 'muted';
    status.textContent = shown.length ? '' : (entries.size ? 'No service in this category.' : 'There is no service you may bind here.');
  };
  filter.addEventListener('change', draw);
  watch(seg(path) + market, (items, res) => {
    failed = items ? null : res;
    entries.clear();
    for (const e of items || []) entries.set(e.metadata.name, e);
    draw();
  }, (ev) => {
    if (ev.type === 'DELETED') entries.delete(ev.object.metadata.name);
    else entries.set(ev.object.metadata.name, ev.object);
    draw();
  }, signal).catch(ignoreSignedOut);

  const byName = new Map();
  let boundFailed = null;
  const drawBound = () => {
    if (boundFailed) { boundStatus.textContent = message(boundFailed); boundStatus.className = 'error'; bound.replaceChildren(); return; }
    const items = [...byName.values()].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    bound.replaceChildren(...items.map((b) => bindingRow(path, b, signal)));
    boundStatus.className = 'muted';
    boundStatus.textContent = items.length ? '' : 'No bound services.';
  };
  watch(seg(path) + bindings, (items, res) => {
    boundFailed = items ? null : res;
    byName.clear();
    for (const b of items || []) byName.set(b.metadata.name, b);
    drawBound();
  }, (ev) => {
    if (ev.type === 'DELETED') byName.delete(ev.object.metadata.name);
    else byName.set(ev.object.metadata.name, ev.object);
    drawBound();
  }, signal).catch(ignoreSignedOut);
}

function entryRow(path, e) {
  const s = e.spec;
  const ready = condition(e, 'Ready');
  const boundTo = ((e.status && e.status.bindings) || []).map((b) => b.name + (b.plan ? ' (' + b.plan + ')' : ''));
  return el('li', { dataset: { name: e.metadata.name, provider: s.provider.path, export: s.export } },
    el('a', { href: marketplaceHref(path, e.metadata.name), class: 'entry-link' }, title(e)),
    el('span', { class: 'muted' }, 'by ' + (s.provider.displayName || s.provider.path)),
    badge(s.model, 'model'),
    ...categories(e).map((c) => badge(c, 'category')),
    ready && ready.status !== 'True' ? badge('not ready: ' + (ready.reason || ready.status), 'not-ready') : null,
    boundTo.length ? badge('bound: ' + boundTo.join(', '), 'bound') : null);
}

function bindingRow(path, b, signal) {
  const n = b.metadata.name;
  const st = b.status || {};
  const ref = (b.spec.reference && b.spec.reference.export) || {};
  const plan = st.plan || b.spec.plan;
  const row = el('li', { dataset: { name: n, phase: st.phase || '', plan: plan || '' } },
    el('strong', {}, n),
    el('span', { class: 'muted' }, (ref.path ? ref.path + '/' : '') + (ref.name || '')),
    badge(st.phase, 'phase phase-' + (st.phase || '')),
    plan ? badge('plan ' + plan, 'plan') : null,
    conditionBadge(b, 'ServiceConnected', 'connected'),
    st.tenantSpace ? badge('tenant space namespace/' + st.tenantSpace.namespace, 'tenant-space') : null,
    conditionBadge(b, 'InstanceReady', 'instance'));
  const err = el('span', { class: 'error', role: 'alert' });
  const go = el('button', {
    type: 'button', class: 'danger unbind-confirm',
    onclick: async () => {
      err.textContent = '';
      const r = await api('DELETE', seg(path) + bindings + '/' + seg(n), undefined, signal);
      if (r.status !== 200 && r.status !== 202) err.textContent = message(r);
    },
  }, 'Unbind ' + n);
  const box = el('span', { class: 'spacer' });
  box.append(el('button', {
    type: 'button', class: 'secondary unbind', onclick: () => box.replaceChildren(go, ' ', err),
  }, 'Unbind…'));
  row.append(box);
  return row;
}

// bindMessage says why a bind failed; the server's bind check refuses with a field error
// Forbidden on spec.reference.export, the same whether or not the export exists.
function bindMessage(r) {
  const causes = (r.data && r.data.details && r.data.details.causes) || [];
  if (r.status === 422 && causes.some((c) => c.field === 'spec.reference.export' && c.reason === 'FieldValueForbidden')) {
    return 'You may not bind this service here.';
  }
  return message(r);
}

// entryPage shows an entry: its catalog, plans, resources and claims, this account's bindings
// of it, and a form to bind it with a plan and an answer to each claim.
async function entryPage(path, name) {
  const signal = startPage();
  const back = el('p', {}, el('a', { href: marketplaceHref(path), id: 'market-link' }, '← marketplace of ' + path));
  show(el('h1', {}, name), back, el('p', { class: 'muted' }, 'Loading…'));
  const res = await api('GET', seg(path) + market + '/' + seg(name), undefined, signal);
  if (res.status !== 200) {
    const text = res.status === 404 ? 'This service is not in your marketplace here.' : message(res);
    show(el('h1', {}, name), back, el('p', { class: 'error', id: 'entry-error' }, text));
    return;
  }
  const e = res.data;
  const s = e.spec;
  const cat = s.catalog || {};
  const field = (k, v) => (v ? [el('dt', {}, k), el('dd', {}, v)] : []);
  const docs = cat.documentationURL && /^https:\/\//i.test(cat.documentationURL)
    ? el('a', { href: cat.documentationURL, rel: 'noopener noreferrer', target: '_blank' }, cat.documentationURL) : cat.documentationURL;
  const ready = condition(e, 'Ready');
  const info = el('dl', { id: 'entry-info' },
    field('Provider', s.provider.path + (s.provider.displayName ? ' (' + s.provider.displayName + ')' : '')),
    field('Export', s.export), field('Description', cat.description), field('Categories', (cat.categories || []).join(', ')),
    field('Model', s.model), field('Documentation', docs), field('Locations', (s.locations || []).join(', ')),
    field('Resources', (s.resources || []).map((r) => (r.group ? r.resource + '.' + r.group : r.resource)).join(', ')),
    field('Ready', ready && ready.status + (ready.reason ? ' (' + ready.reason + ')' : '') + (ready.message ? ': ' + ready.message : '')),
    field('Bound here as', ((e.status && e.status.bindings) || []).map((b) => b.name + ' (' + (b.phase || 'new') + (b.plan ? ', plan ' + b.plan : '') + ')').join(', ')));

  const plans = s.plans || [];
  const plan = el('select', { id: 'plan', 'aria-label': 'Plan' },
    ...(plans.length ? [] : [el('option', { value: '' }, 'no plans')]),
    ...plans.map((p) => el('option', { value: p.name, selected: !!p.default }, (p.displayName || p.name) + (p.default ? ' (default)' : ''))));
  const planInfo = el('ul', { class: 'children', id: 'plans' }, ...plans.map((p) => el('li', { dataset: { plan: p.name } },
    el('strong', {}, p.displayName || p.name), p.default ? badge('default', 'default') : null, p.description ? el('span', { class: 'muted' }, p.description) : null)));

  const bindName = el('input', { id: 'bind-name', required: true, value: s.export, 'aria-label': 'Binding name' });
  const err = el('p', { class: 'error', id: 'bind-error', role: 'alert' });
  const claims = s.permissionClaims || [];
  const answers = claims.map(() => '');
  const bindButton = el('button', { type: 'submit', id: 'bind', disabled: claims.length > 0 }, 'Bind');
  const claimRows = claims.map((c, i) => {
    const group = 'claim-' + i;
    const choose = (v) => () => { answers[i] = v; bindButton.disabled = answers.some((a) => !a); };
    return el('li', { dataset: { index: String(i), resource: c.resource, group: c.group || '' } },
      el('span', { class: 'claim-text grow' }, 'The provider claims ' + claimText(c) + ' in this account.'),
      el('label', { class: 'inline' }, el('input', { type: 'radio', name: group, value: 'Accepted', class: 'claim-accept', onchange: choose('Accepted') }), 'Accept'),
      el('label', { class: 'inline' }, el('input', { type: 'radio', name: group, value: 'Rejected', class: 'claim-reject', onchange: choose('Rejected') }), 'Reject'));
  });
  const form = el('form', {
    id: 'bind-form',
    onsubmit: async (ev) => {
      ev.preventDefault();
      err.textContent = '';
      if (answers.some((a) => !a)) { err.textContent = 'Answer every permission claim first.'; return; }
      const spec = {
        reference: { export: { path: s.provider.path, name: s.export } },
        permissionClaims: claims.length ? claims.map((c, i) => ({ ...c, state: answers[i] })) : undefined,
      };
      if (plan.value) spec.plan = plan.value;
      const r = await api('POST', seg(path) + bindings, {
        apiVersion: 'apis.accountmesh.io/v1alpha1', kind: 'APIBinding', metadata: { name: bindName.value.trim() }, spec,
      }, signal);
      if (r.status !== 201) { err.textContent = bindMessage(r); return; }
      location.hash = marketplaceHref(path);
    },
  },
  el('label', {}, 'Binding name', bindName), el('label', {}, 'Plan', plan),
  claims.length ? el('div', { class: 'claims' }, el('h3', {}, 'Permission claims'), el('ul', { class: 'children', id: 'claims' }, ...claimRows)) : null,
  bindButton);
  show(el('h1', {}, title(e)), back,
    el('section', { class: 'card' }, el('h2', {}, 'Service'), info),
    el('section', { class: 'card' }, el('h2', {}, 'Plans'), plans.length ? planInfo : el('p', { class: 'muted' }, 'No plans.')),
    el('section', { class: 'card' }, el('h2', {}, 'Bind'), form, err));
}
