// The console's shared helpers: the session state, building elements (all server data as text
// nodes, never HTML), calls through the console proxy (/console/api/clusters/...) as the
// signed-in user, watches, and the life of a page. Every page module imports them from here;
// this module imports nothing.

const core = '/apis/core.accountmesh.io/v1alpha1';
const state = { csrf: '', user: '', account: 'root', page: null };

// SignedOut is thrown by calls that found the session ended; the app shows the sign-in page.
class SignedOut extends Error {}

// signedOut tells the app that the session has ended (the app module shows the sign-in page).
function signedOut() {
  window.dispatchEvent(new CustomEvent('console-signed-out'));
}

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

// api calls the API through the console proxy and returns {status, data}; accept asks for
// another representation (a Table, aggregated discovery) than plain JSON.
async function api(method, path, body, signal, accept = 'application/json') {
  const headers = { 'X-CSRF-Token': state.csrf, Accept: accept };
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
    signedOut();
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
// from the last resourceVersion when the stream ends and listing again after an error (410
// Gone). With accept of a Table, onList gets the whole Table and each event a Table of the
// changed rows.
async function watch(path, onList, onEvent, signal, accept = 'application/json') {
  const table = accept.includes('as=Table');
  while (!signal.aborted) {
    const res = await api('GET', path, undefined, signal, accept);
    if (res.status !== 200) { onList(null, res); return; }
    onList(table ? res.data : res.data.items || []);
    let rv = res.data.metadata && res.data.metadata.resourceVersion;
    let gone = false;
    while (!gone && !signal.aborted) {
      try {
        const r = await fetch('/console/api/clusters/' + path + (path.includes('?') ? '&' : '?') +
          'watch=1&allowWatchBookmarks=true&resourceVersion=' + encodeURIComponent(rv),
          { headers: { 'X-CSRF-Token': state.csrf, Accept: accept }, credentials: 'same-origin', signal });
        if (r.status === 401) { signedOut(); return; }
        if (!r.ok) { gone = true; await sleep(2000, signal); break; }
        gone = await readWatch(r, (ev) => {
          if (ev.type === 'ERROR' || !ev.object) return false;
          const meta = table ? lastRowMeta(ev.object) : ev.object.metadata;
          if (meta && meta.resourceVersion) rv = meta.resourceVersion;
          if (ev.type !== 'BOOKMARK') onEvent(ev);
          return true;
        });
      } catch {
        if (signal.aborted) return;
        await sleep(2000, signal);
      }
    }
  }
}

// lastRowMeta returns the metadata of the object of a Table's last row, which carries the
// resourceVersion of a watch event of Tables.
function lastRowMeta(t) {
  const rows = t.rows || [];
  const last = rows.length && rows[rows.length - 1].object;
  return last ? last.metadata : t.metadata;
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

function ignoreSignedOut(e) {
  if (!(e instanceof SignedOut) && e.name !== 'AbortError') console.warn(e);
}


export {
  core, state, SignedOut, signedOut, el, show, seg, accountHref, api, message, watch, readWatch, sleep,
  startPage, stopPage, badge, ignoreSignedOut,
};
