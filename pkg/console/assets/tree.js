// The tree page (#/): the accounts the signed-in user can access below the sign-in account,
// loaded a level at a time from the accessible accounts (spec.parent selects a level,
// status.children says whether a node can open), with a server-side search by path and type
// and phase badges. Small trees open by themselves; a tree of thousands shows its top level and
// opens a node on request. Each open level watches the Account objects of its account and lists
// the level again when they change.

import { core, state, el, show, accountHref, api, message, watch, sleep, startPage, badge, ignoreSignedOut } from './lib.js';

// pageSize is how many accounts one request returns; "Show more" asks for the next page.
const pageSize = 200;
// autoOpen is how many accounts the tree shows before it stops opening levels by itself; it
// opens a level only if the level fits in one page.
const autoOpen = 50;
// pollEvery is how often a level is listed again when its Account objects cannot be watched.
const pollEvery = 15000;

const accessible = () => state.account + '/apis/authorization.accountmesh.io/v1alpha1/accessibleaccounts';

// selector is a field selector term, its value escaped as field selectors need.
function selector(field, value) {
  return field + '=' + value.replace(/[\\,=]/g, (c) => '\\' + c);
}

// listAccessible returns one page of the accessible accounts a field selector picks.
async function listAccessible(fieldSelector, cont, signal) {
  let q = '?limit=' + pageSize + '&fieldSelector=' + encodeURIComponent(fieldSelector);
  if (cont) q += '&continue=' + encodeURIComponent(cont);
  const res = await api('GET', accessible() + q, undefined, signal);
  if (res.status !== 200) return { error: message(res) };
  return { items: res.data.items || [], cont: (res.data.metadata && res.data.metadata.continue) || '' };
}

// head is the row of an account: a toggle when accessible accounts lie below it, its link,
// badges and how many accounts lie below.
function head(a, label, onToggle) {
  const kids = (a.status && a.status.children) || 0;
  const phase = a.status && a.status.phase;
  const parts = [
    kids
      ? el('button', { type: 'button', class: 'toggle link', 'aria-label': 'Show the accounts below ' + a.spec.path, onclick: onToggle }, '▸')
      : el('span', { class: 'toggle', 'aria-hidden': 'true' }),
    el('a', { href: accountHref(a.spec.path), title: a.spec.path }, label),
    badge(a.spec.type, 'type'),
    badge(phase, 'phase phase-' + phase),
    kids ? el('span', { class: 'muted below' }, kids === 1 ? '1 below' : kids + ' below') : null,
  ];
  return parts.filter(Boolean);
}

// Level is the accounts directly below parent in the tree ('' for the top), shown in ul.
class Level {
  constructor(tree, parent, ul, depth) {
    this.tree = tree;
    this.parent = parent;
    this.ul = ul;
    this.depth = depth;
    this.pages = 1;
    this.owner = null;
    this.nodes = new Map();
    this.ctl = new AbortController();
    tree.signal.addEventListener('abort', () => this.ctl.abort(), { once: true });
  }

  // load lists the level again, as many pages as are shown, and draws it.
  async load() {
    const items = [];
    let cont = '';
    for (let i = 0; i < this.pages; i++) {
      const page = await listAccessible(selector('spec.parent', this.parent), cont, this.ctl.signal);
      if (page.error) { this.failed(page.error); return items; }
      items.push(...page.items);
      cont = page.cont;
      if (!cont) break;
    }
    this.draw(items, cont);
    return items;
  }

  failed(text) {
    this.ul.replaceChildren(el('li', { class: 'error' }, text));
  }

  // draw shows items, keeping the nodes (and what is open below them) already shown.
  draw(items, cont) {
    const seen = new Set();
    const lis = items.map((a) => {
      seen.add(a.spec.path);
      let n = this.nodes.get(a.spec.path);
      if (!n) {
        n = { li: el('li', { role: 'treeitem', dataset: { path: a.spec.path } }), below: null };
        this.nodes.set(a.spec.path, n);
      }
      n.account = a;
      const label = this.parent ? a.spec.path.slice(this.parent.length + 1) : a.spec.path;
      const kids = (a.status && a.status.children) || 0;
      if (!kids && n.below) this.close(n);
      n.li.replaceChildren(...head(a, label, () => (n.below ? this.close(n) : this.open(n))), ...(n.below ? [n.below.ul] : []));
      if (kids) n.li.setAttribute('aria-expanded', String(!!n.below));
      else n.li.removeAttribute('aria-expanded');
      this.setToggle(n);
      return n.li;
    });
    for (const [path, n] of this.nodes) {
      if (!seen.has(path)) { this.close(n); this.nodes.delete(path); }
    }
    const more = cont ? el('li', { class: 'more' }, el('button', {
      type: 'button', class: 'secondary', onclick: () => { this.pages++; this.load().catch(ignoreSignedOut); },
    }, 'Show more')) : null;
    this.ul.replaceChildren(...lis, ...(more ? [more] : []));
    // The count on the row above follows what the level holds once it is all shown.
    const count = this.owner && !cont && this.owner.li.querySelector(':scope > .below');
    if (count) count.textContent = lis.length === 1 ? '1 below' : lis.length + ' below';
    this.tree.changed();
  }

  setToggle(n) {
    const t = n.li.querySelector(':scope > button.toggle');
    if (t) t.textContent = n.below ? '▾' : '▸';
  }

  // open shows the level below node n and keeps it current.
  async open(n) {
    if (n.below) return [];
    const ul = el('ul', { role: 'group', class: 'level' });
    n.below = new Level(this.tree, n.account.spec.path, ul, this.depth + 1);
    n.below.owner = n;
    n.li.append(ul);
    n.li.setAttribute('aria-expanded', 'true');
    this.setToggle(n);
    const items = await n.below.load();
    n.below.live(n.account.spec.path);
    return items.map((a) => ({ level: n.below, a }));
  }

  close(n) {
    if (!n.below) return;
    n.below.ctl.abort();
    n.below.ul.remove();
    n.below = null;
    if (n.li.hasAttribute('aria-expanded')) n.li.setAttribute('aria-expanded', 'false');
    this.setToggle(n);
    this.tree.changed();
  }

  // live lists the level again when the Account objects in account change (or every
  // pollEvery where the user may not watch them).
  live(account) {
    const signal = this.ctl.signal;
    let pending = null;
    const again = () => {
      clearTimeout(pending);
      pending = setTimeout(() => this.load().catch(ignoreSignedOut), 300);
    };
    signal.addEventListener('abort', () => clearTimeout(pending), { once: true });
    let watched = true;
    watch(account + core + '/accounts', (items) => { if (items === null) watched = false; }, again, signal)
      .then(async () => {
        while (!watched && !signal.aborted) {
          await sleep(pollEvery, signal);
          if (!signal.aborted) await this.load();
        }
      })
      .catch(ignoreSignedOut);
  }
}

// treePage shows the tree of the accounts the user can access below the sign-in account.
async function treePage() {
  const signal = startPage();
  const search = el('input', { id: 'search', type: 'search', placeholder: 'Search by name or path', 'aria-label': 'Search accounts', 'aria-controls': 'tree' });
  const list = el('ul', { class: 'tree', id: 'tree', role: 'tree', 'aria-label': 'Accounts' });
  const status = el('p', { class: 'muted', id: 'tree-status', role: 'status' }, 'Loading…');
  show(el('h1', {}, 'Accounts'), el('section', { class: 'card' }, search, status, list));

  // done tells the page (and tests) which search the list shows: '' for the tree.
  const done = (q, empty) => {
    status.className = 'muted';
    status.textContent = empty ? (q ? 'No account matches.' : 'You can access no account here.') : '';
    status.dataset.search = q;
  };

  let top = null;
  let searching = null;
  const tree = {
    signal,
    changed: () => {},
  };
  const showTree = async () => {
    if (searching) searching.abort();
    if (top) top.ctl.abort();
    top = new Level(tree, '', list, 0);
    const items = await top.load();
    if (top.ul.querySelector(':scope > li.error')) { status.textContent = ''; return; }
    // The top level changes with the accounts below the sign-in account, unless it is that
    // account alone (then its level below, opened, watches them).
    if (items.length !== 1 || items[0].spec.path !== state.account) top.live(state.account);
    // Open levels breadth first while the tree is small.
    let shown = items.length;
    const queue = items.map((a) => ({ level: top, a }));
    while (queue.length && shown < autoOpen && !signal.aborted) {
      const { level, a } = queue.shift();
      const n = level.nodes.get(a.spec.path);
      if (!n || !a.status || !a.status.children || shown + a.status.children > pageSize) continue;
      const below = await level.open(n);
      shown += below.length;
      queue.push(...below);
    }
    tree.changed = () => done('', !list.querySelector('li[data-path]'));
    tree.changed();
  };

  // Search lists the accounts whose path contains the text, a page at a time, flat.
  const find = async (q) => {
    if (searching) searching.abort();
    searching = new AbortController();
    const mine = searching.signal;
    signal.addEventListener('abort', () => searching.abort(), { once: true });
    if (top) { top.ctl.abort(); top = null; }
    tree.changed = () => {};
    let cont = '';
    const lis = [];
    const more = async () => {
      const page = await listAccessible(selector('search', q), cont, mine);
      if (mine.aborted) return;
      if (page.error) { status.textContent = page.error; status.className = 'error'; return; }
      cont = page.cont;
      for (const a of page.items) {
        lis.push(el('li', { role: 'treeitem', dataset: { path: a.spec.path } }, ...head({ ...a, status: { ...a.status, children: 0 } }, a.spec.path)));
      }
      list.replaceChildren(...lis, ...(cont ? [el('li', { class: 'more' }, el('button', {
        type: 'button', class: 'secondary', onclick: () => more().catch(ignoreSignedOut),
      }, 'More matches'))] : []));
      done(q, !lis.length);
    };
    await more();
  };

  let typing = null;
  search.addEventListener('input', () => {
    clearTimeout(typing);
    typing = setTimeout(() => {
      const q = search.value.trim();
      (q ? find(q) : showTree()).catch(ignoreSignedOut);
    }, 200);
  });
  await showTree();
}

export { treePage };
