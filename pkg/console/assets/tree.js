// The tree page (#/): the accounts the signed-in user can access below the sign-in account,
// with search, type and phase badges.

import { core, state, el, show, accountHref, api, message, watch, startPage, badge, ignoreSignedOut } from './lib.js';

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


export { treePage };
