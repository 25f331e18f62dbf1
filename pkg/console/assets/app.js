// The Account Mesh console: a small single-page app. This module signs in and out and routes
// the URL's fragment to the pages, each a module of its own; every API call goes through the
// console proxy (/console/api/clusters/...) as the signed-in user (lib.js), and all data is
// rendered as text nodes, never as HTML.

import { state, el, show, stopPage, ignoreSignedOut } from './lib.js';
import { signInProviders } from './oidc.js';
import { treePage } from './tree.js';
import { accountPage } from './account.js';
import { membersPage } from './members.js';
import { marketplaceRoute } from './marketplace.js';
import { contextsRoute } from './contexts.js';
import { resourcesPage } from './resources.js';

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


window.addEventListener('console-signed-out', () => signInPage('Your session has ended: sign in again.'));
start();
