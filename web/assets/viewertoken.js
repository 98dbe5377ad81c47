// viewertoken.js — the viewer token of the built-in pages, for a server
// with a viewer token (webrtc.viewer_token) or a play check.
//
// A link may carry it: /watch/NAME?token=T. adoptToken() keeps it in
// sessionStorage (this tab only, gone when the tab closes) and takes it off
// the visible URL, so it is not bookmarked, shared or shown; pages then
// send it as "Authorization: Bearer T" (authHeaders) on WHEP and API
// requests, and as ?token=T (tokenURL) on EventSource, which cannot send
// headers. When the server answers 401 a page shows its token form
// (bindTokenForm). No imports: node checks it (viewertoken.test.mjs).

export const TOKEN_KEY = 'mediad.viewerToken';

/**
 * Splits a page URL into the token it carries (?token=, '' if none) and the
 * same URL without it (null when there was nothing to remove).
 */
export function splitToken(href) {
  const url = new URL(href);
  if (!url.searchParams.has('token')) return { token: '', clean: null };
  const token = (url.searchParams.get('token') || '').trim();
  url.searchParams.delete('token');
  return { token, clean: url.pathname + url.search + url.hash };
}

function storageOf(win) {
  try { return win.sessionStorage || null; } catch { return null; } // blocked storage throws
}

/** The stored viewer token ('' if none). */
export function viewerToken(win = globalThis) {
  const s = storageOf(win);
  try { return (s && s.getItem(TOKEN_KEY)) || ''; } catch { return ''; }
}

/** Stores (or, for '', forgets) the viewer token. */
export function setViewerToken(token, win = globalThis) {
  const s = storageOf(win);
  token = token == null ? '' : String(token).trim();
  try {
    if (!s) return token;
    if (token) s.setItem(TOKEN_KEY, token);
    else s.removeItem(TOKEN_KEY);
  } catch { /* storage full or blocked: the token still works in this page */ }
  return token;
}

/**
 * Takes ?token= off the page URL (history.replaceState) into storage and
 * returns the token in force: the URL's, else the stored one.
 */
export function adoptToken(win = globalThis) {
  const { token, clean } = splitToken(win.location.href);
  if (clean != null) {
    try { win.history.replaceState(win.history.state, '', clean); } catch { /* keep going */ }
  }
  if (token) return setViewerToken(token, win);
  return viewerToken(win);
}

/** headers plus "Authorization: Bearer token" when there is a token. */
export function authHeaders(token, headers = {}) {
  const h = { ...headers };
  if (token) h.Authorization = `Bearer ${token}`;
  return h;
}

/** url (absolute or a path) with ?token= added when there is a token (EventSource). */
export function tokenURL(url, token) {
  if (!token) return url;
  return `${url}${url.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}`;
}

/**
 * Wires a token form: <form> holding an <input name="token"> and an
 * element with [data-token-msg]. show(message) unhides it; on submit the
 * token is stored, the form hidden and onToken(token) called.
 */
export function bindTokenForm(form, onToken) {
  const input = form.querySelector('input[name="token"]');
  const msg = form.querySelector('[data-token-msg]');
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const token = setViewerToken(input.value);
    if (!token) return;
    input.value = '';
    form.hidden = true;
    onToken(token);
  });
  return {
    show(message) {
      if (msg) msg.textContent = message || '';
      const wasHidden = form.hidden;
      form.hidden = false;
      if (wasHidden) input.focus();
    },
    hide() { form.hidden = true; },
    get shown() { return !form.hidden; },
  };
}
