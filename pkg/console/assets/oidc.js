// Sign-in with OpenID Connect and kubeconfig downloads. The server runs the authorization code
// flow (/console/oidc/start redirects to the issuer, which sends the browser back to
// /console/); this module lists the ways to sign in and shows why a sign-in failed, with
// fixed messages only: nothing of the URL is shown.

const reasons = {
  state: 'The sign-in could not be completed: it was started in another browser, was used already or took too long. Sign in again.',
  denied: 'The identity provider did not sign you in.',
  token: 'The identity provider\'s answer could not be verified.',
  access: 'Your identity was not accepted here.',
  provider: 'That way of signing in is not offered here.',
  issuer: 'The identity provider cannot be reached.',
  busy: 'Too many sign-ins are in progress; try again later.',
  'cross-site': 'Sign-in must start from this console.',
};

function node(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

// signInError returns the message of a failed sign-in named in the URL's fragment, and
// removes it from the URL.
function signInError() {
  const m = /^#signin-error=([a-z-]+)$/.exec(location.hash);
  if (!m) return '';
  history.replaceState(null, '', location.pathname);
  return reasons[m[1]] || 'The sign-in failed.';
}

// orgFromURL returns the organisation path given as #/org/<path>, if any.
function orgFromURL() {
  const m = /^#\/org\/(.+)$/.exec(location.hash);
  return m ? decodeURIComponent(m[1]) : '';
}

// signInProviders returns the section of the sign-in page that offers the platform's issuer
// and, for the organisation path in the account field (or #/org/<path>), its identity
// providers. The server answers the same for a path that is no organisation as for an
// organisation without identity providers.
export function signInProviders(account) {
  const fromURL = orgFromURL();
  if (fromURL) account.value = fromURL;
  const list = node('div', { id: 'oidc-providers', class: 'providers' });
  const err = node('p', { class: 'error', id: 'oidc-error', role: 'alert' }, signInError());
  const box = node('div', { class: 'oidc' });
  box.append(err, list);
  let seq = 0;
  const load = async () => {
    const mine = ++seq;
    const r = await fetch('/console/oidc/providers?account=' + encodeURIComponent(account.value.trim()), { credentials: 'same-origin' });
    const data = await r.json().catch(() => null);
    if (mine !== seq) return;
    const providers = (r.ok && data && data.providers) || [];
    list.replaceChildren(...providers.map((p) => {
      const b = node('button', { type: 'button', class: 'secondary', 'data-provider': p.id, title: p.issuer }, 'Sign in with ' + p.name);
      b.addEventListener('click', () => {
        location.assign('/console/oidc/start?provider=' + encodeURIComponent(p.id) + '&account=' + encodeURIComponent(account.value.trim() || 'root'));
      });
      return b;
    }));
    if (providers.length) list.prepend(node('p', { class: 'muted' }, 'Or sign in with an identity provider:'));
  };
  let pending = null;
  account.addEventListener('input', () => { clearTimeout(pending); pending = setTimeout(load, 300); });
  load();
  return box;
}

// kubeconfigLink returns the link that downloads a kubeconfig for the signed-in user in
// account path: the server's URL and CA, and a user entry that gets a credential by itself
// (never the session's).
export function kubeconfigLink(path) {
  return node('a', { href: '/console/kubeconfig?account=' + encodeURIComponent(path), download: path.replaceAll(':', '_') + '.kubeconfig', id: 'kubeconfig-link' },
    'Kubeconfig for this account');
}
