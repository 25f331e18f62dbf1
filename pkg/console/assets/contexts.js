// The orchestration pages of the console: an account's OrchestrationContexts with their
// READY N/M, live, and a context's members (account, ready, reason, message, what each waits
// for) and dependency edges, live. Read-only; every call goes through the console proxy as the
// signed-in user, and all data is rendered as text.

import { el, watch, message, show, startPage, accountHref, seg, ignoreSignedOut } from './lib.js';

const orch = '/apis/orchestration.accountmesh.io/v1alpha1';

export function contextsHref(path, namespace, name) {
  return '#/contexts/' + encodeURIComponent(path) + (name ? '/' + encodeURIComponent(namespace) + '/' + encodeURIComponent(name) : '');
}

// contextsRoute shows #/contexts/<account>[/<namespace>/<name>].
export async function contextsRoute(rest) {
  const [path, namespace, name] = rest.split('/').map(decodeURIComponent);
  if (namespace && name) return contextPage(path, namespace, name);
  return contextsPage(path);
}

function conditionBadges(c) {
  return ((c.status && c.status.conditions) || []).filter((x) => ['Ready', 'Progressing', 'Degraded', 'Deleting'].includes(x.type))
    .map((x) => el('span', { class: 'badge cond-' + x.status + ' cond-' + x.type, dataset: { type: x.type, status: x.status }, title: x.message || '' }, x.type + '=' + x.status));
}

// readyText is READY N/M, as kubectl get shows it.
function readyText(c) {
  const st = c.status || {};
  const total = (st.members && st.members.length) || (c.spec.members || []).length;
  return (st.readyMembers || 0) + '/' + total;
}

function key(c) {
  return c.metadata.namespace + '/' + c.metadata.name;
}

// contextsPage lists the account's contexts in all namespaces, live.
async function contextsPage(path) {
  const signal = startPage();
  const list = el('ul', { class: 'children', id: 'contexts' });
  const status = el('p', { class: 'muted', id: 'contexts-status' }, 'Loading…');
  show(el('h1', {}, 'Orchestration contexts of ' + path),
    el('p', {}, el('a', { href: accountHref(path) }, '← ' + path)),
    el('section', { class: 'card' }, status, list));
  const byKey = new Map();
  let failed = null;
  const draw = () => {
    if (failed) { status.textContent = message(failed); status.className = 'error'; list.replaceChildren(); return; }
    const items = [...byKey.values()].sort((a, b) => key(a).localeCompare(key(b)));
    list.replaceChildren(...items.map((c) => el('li', { dataset: { name: key(c), ready: readyText(c) } },
      el('a', { href: contextsHref(path, c.metadata.namespace, c.metadata.name) }, key(c)),
      el('span', { class: 'ready' }, 'READY ' + readyText(c)), ...conditionBadges(c))));
    status.className = 'muted';
    status.textContent = items.length ? '' : 'No orchestration contexts.';
  };
  watch(seg(path) + orch + '/orchestrationcontexts', (items, res) => {
    failed = items ? null : res;
    byKey.clear();
    for (const c of items || []) byKey.set(key(c), c);
    draw();
  }, (ev) => {
    if (ev.type === 'DELETED') byKey.delete(key(ev.object));
    else byKey.set(key(ev.object), ev.object);
    draw();
  }, signal).catch(ignoreSignedOut);
}

// edges returns the dependency edges of a context's spec, as [member, dependency] pairs.
function edges(c) {
  return (c.spec.members || []).flatMap((m) => (m.dependsOn || []).map((d) => [m.name, d]));
}

// order returns the spec's member names with each after what it depends on, and the depth of
// each in the dependency graph (0 for members that depend on nothing).
function order(c) {
  const deps = new Map((c.spec.members || []).map((m) => [m.name, m.dependsOn || []]));
  const depth = new Map();
  const visit = (n, seen) => {
    if (depth.has(n)) return depth.get(n);
    if (seen.has(n) || !deps.has(n)) return 0;
    seen.add(n);
    const d = Math.max(-1, ...deps.get(n).map((x) => visit(x, seen))) + 1;
    depth.set(n, d);
    return d;
  };
  for (const n of deps.keys()) visit(n, new Set());
  const names = [...deps.keys()].sort((a, b) => depth.get(a) - depth.get(b) || a.localeCompare(b));
  return { names, depth };
}

// contextPage shows one context, live: its conditions, its members' states and its graph.
async function contextPage(path, namespace, name) {
  const signal = startPage();
  const back = el('p', {}, el('a', { href: contextsHref(path), id: 'contexts-link' }, '← orchestration contexts of ' + path));
  const head = el('p', { id: 'context-summary' }, 'Loading…');
  const members = el('tbody', { id: 'members' });
  const graph = el('ul', { class: 'children', id: 'edges' });
  const table = el('table', { class: 'members' },
    el('thead', {}, el('tr', {}, ...['Member', 'Account', 'Ready', 'Reason', 'Message', 'Waiting for'].map((h) => el('th', {}, h)))), members);
  show(el('h1', {}, namespace + '/' + name), back, el('section', { class: 'card' }, head),
    el('section', { class: 'card' }, el('h2', {}, 'Members'), table),
    el('section', { class: 'card' }, el('h2', {}, 'Dependencies'), graph));
  const draw = (c) => {
    if (!c) { head.textContent = 'This context does not exist (any more).'; head.className = 'error'; members.replaceChildren(); graph.replaceChildren(); return; }
    const st = c.status || {};
    head.className = '';
    head.replaceChildren(el('strong', { class: 'ready' }, 'READY ' + readyText(c)), ' ', ...conditionBadges(c));
    members.replaceChildren(...(st.members || []).map((m) => el('tr', { dataset: { member: m.name, ready: String(!!m.ready), reason: m.reason || '' } },
      el('td', {}, m.name), el('td', {}, m.account || path), el('td', { class: m.ready ? 'ok' : 'error' }, m.ready ? 'yes' : 'no'),
      el('td', {}, m.reason || ''), el('td', {}, m.message || ''), el('td', {}, (m.waitingFor || []).join(', ')))));
    const { names, depth } = order(c);
    const e = edges(c);
    const rows = names.map((n) => {
      const needs = e.filter(([from]) => from === n).map(([, to]) => to);
      const li = el('li', { dataset: { member: n } }, el('strong', {}, n),
        needs.length ? el('span', { class: 'muted' }, 'depends on ' + needs.join(', ')) : el('span', { class: 'muted' }, 'depends on nothing'));
      li.style.paddingLeft = (depth.get(n) * 1.2) + 'rem';
      return li;
    });
    graph.replaceChildren(...rows);
  };
  let current = null;
  const url = seg(path) + orch + '/namespaces/' + encodeURIComponent(namespace) + '/orchestrationcontexts?fieldSelector=' + encodeURIComponent('metadata.name=' + name);
  watch(url, (items, res) => {
    if (!items) { head.textContent = message(res); head.className = 'error'; return; }
    current = items[0] || null;
    draw(current);
  }, (ev) => {
    current = ev.type === 'DELETED' ? null : ev.object;
    draw(current);
  }, signal).catch(ignoreSignedOut);
}
