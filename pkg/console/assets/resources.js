// The resources page of an account (#/resources/<path>): what the account serves, from its own
// discovery (built-ins, CRDs and bound APIs alike), grouped by API group; for a chosen resource
// its objects as the server prints them (Table, the columns kubectl get shows), live through a
// watch, with a namespace filter; one object as YAML; and the account's Events, newest first.
// Every call goes through the console proxy as the signed-in user; all server data is rendered
// as text nodes.

import { el, show, api, watch, message, badge, seg, startPage, accountHref, ignoreSignedOut } from './lib.js';

// tableAccept asks for the server's printed columns, as kubectl get does.
const tableAccept = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json';
// discoveryAccept asks for aggregated discovery: every group, version and resource at once.
const discoveryAccept = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json';
// maxEvents bounds the events shown.
const maxEvents = 200;

// resourcesPage shows the resources page; rest is the hash after #/resources/: the account path,
// and optionally ?group=&version=&resource=&namespace=&name= to restore a selection.
export async function resourcesPage(rest) {
  const signal = startPage();
  const q = rest.indexOf('?');
  const path = decodeURIComponent(q < 0 ? rest : rest.slice(0, q));
  const wanted = new URLSearchParams(q < 0 ? '' : rest.slice(q + 1));
  const get = (url, accept) => api('GET', path + url, undefined, signal, accept);
  const title = el('h1', {}, 'Resources of ' + path);
  const back = el('p', {}, el('a', { href: accountHref(path) }, '← ' + path));
  show(title, back, el('p', { class: 'muted' }, 'Loading…'));

  let groups;
  try {
    groups = await discover(get);
  } catch (res) {
    if (!res || res.status === undefined) throw res;
    show(title, back, el('p', { class: 'error', id: 'resources-error' }, message(res)));
    return;
  }

  // The list of resources, grouped by group, with a filter.
  const filter = el('input', { id: 'kind-filter', type: 'search', placeholder: 'Filter resources', 'aria-label': 'Filter resources' });
  const kinds = el('div', { id: 'kinds' });
  const refresh = el('button', { type: 'button', class: 'secondary', id: 'refresh-kinds' }, 'Refresh');
  // The chosen resource's objects.
  const objTitle = el('h2', { id: 'objects-title' }, 'Choose a resource');
  const ns = el('select', { id: 'namespace', 'aria-label': 'Namespace' }, el('option', { value: '' }, 'all namespaces'));
  const nsLabel = el('label', { hidden: true }, 'Namespace', ns);
  const objStatus = el('p', { class: 'muted', id: 'objects-status' });
  const objTable = el('table', { id: 'objects', class: 'data' });
  // One object as YAML.
  const yamlTitle = el('h2', { id: 'yaml-title' }, 'YAML');
  const yaml = el('pre', { id: 'yaml', class: 'yaml', tabindex: '0' });
  const yamlCard = el('section', { class: 'card', id: 'yaml-card', hidden: true }, yamlTitle, yaml);
  // The account's events.
  const evStatus = el('p', { class: 'muted', id: 'events-status' }, 'Loading…');
  const evTable = el('table', { id: 'events', class: 'data' });

  show(title, back,
    el('div', { class: 'resources' },
      el('nav', { class: 'card kinds', 'aria-label': 'Resources' }, el('div', { class: 'row' }, filter, refresh), kinds),
      el('div', { class: 'objects' },
        el('section', { class: 'card', id: 'objects-card' }, objTitle, nsLabel, objStatus, el('div', { class: 'scroll' }, objTable)),
        yamlCard)),
    el('section', { class: 'card' }, el('h2', {}, 'Events'), evStatus, el('div', { class: 'scroll' }, evTable)));

  let chosen = null; // {group, version, resource, kind, namespaced}
  let namespace = wanted.get('namespace') || ''; // of the filter, kept across resources
  let listing = null; // AbortController of the chosen resource's watch

  const drawKinds = () => {
    const f = filter.value.trim().toLowerCase();
    const sections = [];
    for (const g of groups) {
      const rs = g.resources.filter((r) => !f || r.resource.includes(f) || (r.kind || '').toLowerCase().includes(f) || g.group.includes(f));
      if (!rs.length) continue;
      sections.push(el('section', { dataset: { group: g.group } },
        el('h3', {}, g.group || 'core', el('span', { class: 'muted' }, ' ' + g.version)),
        el('ul', {}, ...rs.map((r) => el('li', {},
          el('button', {
            type: 'button', class: 'link' + (chosen && same(chosen, r) ? ' current' : ''),
            dataset: { gr: gr(r) }, title: gr(r),
            onclick: () => choose(r, ''),
          }, r.kind || r.resource),
          r.namespaced ? null : badge('cluster', 'scope'))))));
    }
    kinds.replaceChildren(...(sections.length ? sections : [el('p', { class: 'muted' }, 'No resource matches.')]));
  };
  filter.addEventListener('input', drawKinds);
  const rediscover = async () => {
    try {
      groups = await discover(get);
      drawKinds();
    } catch (e) {
      if (!e || e.status === undefined) throw e;
    }
  };
  refresh.addEventListener('click', () => { rediscover().catch(ignoreSignedOut); });

  // Namespaces for the filter, if the user may list them.
  get('/api/v1/namespaces', 'application/json').then((res) => {
    if (res.status !== 200) return;
    const keep = ns.value;
    const have = new Set([...ns.options].map((o) => o.value));
    ns.append(...(res.data.items || []).filter((n) => !have.has(n.metadata.name))
      .map((n) => el('option', { value: n.metadata.name }, n.metadata.name)));
    ns.value = keep;
  }).catch(ignoreSignedOut);
  ns.addEventListener('change', () => {
    namespace = ns.value;
    if (chosen) choose(chosen, '');
  });

  // choose lists (and watches) the objects of resource r, in the namespace of the filter (all
  // with ""), and shows the object named name, if any.
  const choose = (r, name) => {
    if (listing) listing.abort();
    listing = new AbortController();
    signal.addEventListener('abort', () => listing.abort(), { once: true });
    chosen = r;
    drawKinds();
    remember(path, r, r.namespaced ? namespace : '', name);
    objTitle.textContent = (r.kind || r.resource) + (r.group ? ' (' + r.group + ')' : '');
    nsLabel.hidden = !r.namespaced;
    if (!ns.querySelector(`option[value="${CSS.escape(namespace)}"]`)) ns.append(el('option', { value: namespace }, namespace));
    ns.value = namespace;
    yamlCard.hidden = true;
    const base = apiBase(r) + (r.namespaced && namespace ? '/namespaces/' + seg(namespace) : '') + '/' + r.resource;
    const allNs = r.namespaced && !namespace;
    const rows = new Map();
    let columns = [];
    const draw = () => {
      const sorted = [...rows.values()].sort((a, b) => key(a).localeCompare(key(b)));
      drawTable(objTable, columns, sorted, allNs, (m) => openYAML(r, m.namespace || '', m.name));
      objStatus.textContent = sorted.length ? '' : 'No objects.';
      objStatus.className = 'muted';
    };
    objStatus.textContent = 'Loading…';
    objTable.replaceChildren();
    watch(path + base, (table, failed) => {
      if (!table) { objStatus.textContent = message(failed); objStatus.className = 'error'; objTable.replaceChildren(); return; }
      columns = table.columnDefinitions || [];
      rows.clear();
      for (const row of table.rows || []) rows.set(key(row), row);
      draw();
    }, (ev) => {
      for (const row of ev.object.rows || []) {
        if (ev.type === 'DELETED') rows.delete(key(row));
        else rows.set(key(row), row);
      }
      if (ev.object.columnDefinitions && ev.object.columnDefinitions.length) columns = ev.object.columnDefinitions;
      draw();
    }, listing.signal, tableAccept).catch(ignoreSignedOut);
    if (name) openYAML(r, namespace, name);
  };

  // openYAML shows one object as YAML.
  const openYAML = async (r, objNs, name) => {
    remember(path, r, r.namespaced ? namespace : '', name);
    yamlCard.hidden = false;
    yamlTitle.textContent = (objNs ? objNs + '/' : '') + name;
    yaml.textContent = 'Loading…';
    const url = apiBase(r) + (r.namespaced ? '/namespaces/' + seg(objNs) : '') + '/' + r.resource + '/' + seg(name);
    const res = await get(url, 'application/json');
    if (res.status !== 200) { yaml.textContent = message(res); return; }
    if (res.data && res.data.metadata) delete res.data.metadata.managedFields;
    yaml.textContent = toYAML(res.data);
  };

  drawKinds();
  const want = groups.flatMap((g) => g.resources).find((r) => r.resource === wanted.get('resource') &&
    r.group === (wanted.get('group') || '') && (!wanted.get('version') || r.version === wanted.get('version')));
  if (want) choose(want, wanted.get('name') || '');

  // New CRDs and bindings change what the account serves: discover again when they change,
  // and once more a little later, as serving a new API may take a moment.
  let pending = [];
  const later = () => {
    pending.forEach(clearTimeout);
    pending = [500, 3000].map((ms) => setTimeout(() => { rediscover().catch(ignoreSignedOut); }, ms));
  };
  for (const url of ['/apis/apiextensions.k8s.io/v1/customresourcedefinitions', '/apis/apis.accountmesh.io/v1alpha1/apibindings']) {
    watch(path + url, () => {}, later, signal).catch(ignoreSignedOut);
  }

  // Events, newest first, live.
  const events = new Map();
  const drawEvents = () => {
    const list = [...events.values()].sort((a, b) => eventTime(b).localeCompare(eventTime(a))).slice(0, maxEvents);
    evTable.hidden = !list.length;
    evTable.replaceChildren(
      el('thead', {}, el('tr', {}, ...['LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE'].map((c) => el('th', { scope: 'col' }, c)))),
      el('tbody', {}, ...list.map((e) => el('tr', { dataset: { name: e.metadata.name, namespace: e.metadata.namespace || '' } },
        el('td', { title: eventTime(e) }, age(eventTime(e))),
        el('td', {}, badge(e.type || '', 'event-' + (e.type || ''))),
        el('td', {}, e.reason || ''),
        el('td', {}, involved(e)),
        el('td', { class: 'message' }, e.message || e.note || '')))));
    evStatus.textContent = list.length ? '' : 'No events.';
    evStatus.className = 'muted';
  };
  watch(path + '/api/v1/events', (items, failed) => {
    if (!items) { evStatus.textContent = message(failed); evStatus.className = 'error'; evTable.replaceChildren(); return; }
    events.clear();
    for (const e of items) events.set(e.metadata.namespace + '/' + e.metadata.name, e);
    drawEvents();
  }, (ev) => {
    const k = ev.object.metadata.namespace + '/' + ev.object.metadata.name;
    if (ev.type === 'DELETED') events.delete(k);
    else events.set(k, ev.object);
    drawEvents();
  }, signal).catch(ignoreSignedOut);
}

// discover returns the account's resources that can be listed, by group (core first, then by
// name), each group in its preferred version. A failed call is thrown as {status, data}.
async function discover(get) {
  const groups = [];
  const add = (group, version, resources) => {
    const rs = resources.filter((r) => !r.resource.includes('/') && (r.verbs || []).includes('list'))
      .map((r) => ({ ...r, group, version })).sort((a, b) => (a.kind || a.resource).localeCompare(b.kind || b.resource));
    if (rs.length) groups.push({ group, version, resources: rs });
  };
  const legacy = (list) => (list.resources || []).map((r) => ({ resource: r.name, kind: r.kind, namespaced: r.namespaced, verbs: r.verbs }));
  const core = await get('/api/v1', 'application/json');
  if (core.status !== 200) throw core;
  add('', 'v1', legacy(core.data));
  const apis = await get('/apis', discoveryAccept);
  if (apis.status !== 200) throw apis;
  if (apis.data.kind === 'APIGroupDiscoveryList') {
    for (const g of apis.data.items || []) {
      const v = (g.versions || [])[0];
      if (!v) continue;
      add(g.metadata.name, v.version, (v.resources || []).map((r) => ({
        resource: r.resource, kind: r.responseKind && r.responseKind.kind, namespaced: r.scope === 'Namespaced', verbs: r.verbs,
      })));
    }
  } else {
    for (const g of apis.data.groups || []) {
      const gv = g.preferredVersion.groupVersion;
      const res = await get('/apis/' + gv, 'application/json');
      if (res.status === 200) add(g.name, gv.split('/')[1], legacy(res.data));
    }
  }
  return groups.sort((a, b) => (a.group === '' ? -1 : b.group === '' ? 1 : a.group.localeCompare(b.group)));
}

// drawTable renders a Table's rows with its columns of priority 0 (those kubectl get shows),
// with a NAMESPACE column first across all namespaces, as kubectl get -A does. The name cell
// opens the object's YAML.
function drawTable(table, columns, rows, withNamespace, open) {
  const shown = columns.map((c, i) => ({ ...c, i })).filter((c) => !c.priority);
  const nameCol = shown.find((c) => c.format === 'name') || shown.find((c) => c.name === 'Name');
  table.replaceChildren(
    el('thead', {}, el('tr', {}, withNamespace ? el('th', { scope: 'col' }, 'NAMESPACE') : null,
      ...shown.map((c) => el('th', { scope: 'col', title: c.description || '' }, c.name.toUpperCase())))),
    el('tbody', {}, ...rows.map((row) => {
      const m = (row.object && row.object.metadata) || {};
      return el('tr', { dataset: { name: m.name || '', namespace: m.namespace || '' } },
        withNamespace ? el('td', {}, m.namespace || '') : null,
        ...shown.map((c) => {
          const v = cell(row.cells[c.i], c);
          if (c === nameCol && m.name) return el('td', {}, el('button', { type: 'button', class: 'link open', onclick: () => open(m) }, v));
          return el('td', {}, v);
        }));
    })));
}

// cell renders one Table cell as text: dates as ages (as kubectl does), lists and objects as
// JSON, nothing as <none>.
function cell(v, col) {
  if (v === null || v === undefined || v === '') return col.type === 'string' && col.format !== 'name' ? '<none>' : '';
  // Built-in tables carry ages already; CRDs' date columns may carry timestamps.
  if (col.type === 'date' && typeof v === 'string') return age(v) || v;
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

// age renders the time since an RFC 3339 timestamp as kubectl does (5s, 3m, 2h, 4d).
export function age(ts) {
  const t = Date.parse(ts);
  if (!ts || Number.isNaN(t)) return '';
  const s = Math.max(0, Math.floor((Date.now() - t) / 1000));
  if (s < 120) return s + 's';
  const m = Math.floor(s / 60);
  if (m < 120) return m + 'm';
  const h = Math.floor(m / 60);
  if (h < 48) return h + 'h';
  const d = Math.floor(h / 24);
  return d < 730 ? d + 'd' : Math.floor(d / 365) + 'y';
}

function eventTime(e) {
  return e.lastTimestamp || e.eventTime || (e.series && e.series.lastObservedTime) || e.metadata.creationTimestamp || '';
}

function involved(e) {
  const o = e.involvedObject || e.regarding || {};
  return (o.kind ? o.kind.toLowerCase() + '/' : '') + (o.name || '');
}

function key(row) {
  const m = (row.object && row.object.metadata) || {};
  return (m.namespace || '') + '/' + (m.name || '');
}

function gr(r) {
  return r.group ? r.resource + '.' + r.group : r.resource;
}

function same(a, b) {
  return a.group === b.group && a.resource === b.resource;
}

function apiBase(r) {
  return r.group ? '/apis/' + r.group + '/' + r.version : '/api/' + r.version;
}

// remember puts the selection into the address without loading the page again.
function remember(path, r, namespace, name) {
  const p = new URLSearchParams({ group: r.group, version: r.version, resource: r.resource });
  if (namespace) p.set('namespace', namespace);
  if (name) p.set('name', name);
  history.replaceState(null, '', '#/resources/' + encodeURIComponent(path) + '?' + p.toString());
}

// toYAML renders a JSON value as YAML: block mappings and sequences, plain scalars where YAML
// reads them back as the same string, double-quoted (JSON) strings otherwise, and block
// literals for multi-line text.
export function toYAML(v) {
  const out = [];
  if (isObject(v) || Array.isArray(v)) emit(v, '', out);
  else out.push(scalar(v, ''));
  return out.join('\n') + '\n';
}

function isObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function nonEmpty(v) {
  return (Array.isArray(v) && v.length > 0) || (isObject(v) && Object.keys(v).length > 0);
}

function emit(v, ind, out) {
  if (Array.isArray(v)) {
    for (const x of v) {
      if (nonEmpty(x)) {
        const sub = [];
        emit(x, ind + '  ', sub);
        sub[0] = ind + '- ' + sub[0].slice(ind.length + 2);
        out.push(...sub);
      } else {
        out.push(ind + '- ' + scalar(x, ind + '  '));
      }
    }
    return;
  }
  for (const [k, x] of Object.entries(v)) {
    const name = plain(k) ? k : JSON.stringify(k);
    if (isObject(x) && nonEmpty(x)) {
      out.push(ind + name + ':');
      emit(x, ind + '  ', out);
    } else if (nonEmpty(x)) {
      out.push(ind + name + ':');
      emit(x, ind, out);
    } else {
      out.push(ind + name + ': ' + scalar(x, ind + '  '));
    }
  }
}

// scalar renders a scalar (or an empty collection); multi-line text becomes a block literal
// whose lines are indented by ind.
function scalar(v, ind) {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return '[]';
  if (typeof v === 'object') return '{}';
  if (typeof v !== 'string') return String(v);
  if (plain(v)) return v;
  if (v.includes('\n') && !/[\x00-\x08\x0b-\x1f\x7f\u2028\u2029\ufeff]/.test(v) && !/^[ \t]/.test(v)) {
    const body = v.replace(/\n+$/, '');
    const trail = v.length - body.length;
    const chomp = trail === 0 ? '-' : trail === 1 ? '' : '+';
    const lines = (trail > 1 ? v.slice(0, -1) : body).split('\n');
    return '|' + chomp + '\n' + lines.map((l) => (l ? ind + l : '')).join('\n');
  }
  return JSON.stringify(v);
}

// plain reports whether s can stand unquoted in YAML and be read back as the same string.
function plain(s) {
  if (!/^[A-Za-z0-9_./][A-Za-z0-9_./ ()=+-]*$/.test(s) || s.endsWith(' ')) return false;
  if (/^(true|false|yes|no|on|off|y|n|null|~)$/i.test(s)) return false;
  if (/^[-+.]?[0-9]/.test(s) || /^\.(inf|nan)$/i.test(s)) return false;
  return true;
}
