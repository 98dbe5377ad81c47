// operator.js — the operator panel of the watch page: edits a stream's
// mutation chain (GET/PUT /api/v1/streams/NAME/mutations, PUT with the
// admin bearer token) and, while open, follows the stream's events
// (server-sent events from /api/v1/streams/NAME/events).
//
// initOperator({name, open, viewerToken}) wires up the #operator section of
// watch.html; viewerToken() is the page's viewer token, sent on the reads
// (GET, and ?token= on the event stream; the admin token when there is
// none). Clear asks first: it arms for CLEAR_CONFIRM_MS ("Clear? click
// again", data-armed on the button) and a second click clears.
// It sets window.mediadOperator, for tests:
//   setToken(t)   sets (and remembers) the admin token
//   apply(chain)  PUTs an array of ops, or a JSON string sent as it is;
//                 resolves to {status, body} (status 0: no answer)
//   get()         resolves to the body of GET .../mutations

const TOKEN_KEY = 'mediad.adminToken';
const MAX_EVENTS = 50;
const EVENTS_RETRY_MS = 5000;
export const CLEAR_CONFIRM_MS = 5000;

/** The quick-add buttons and the op each appends. */
export const QUICK_OPS = [
  ['Blur box', { op: 'blur', rect: [0.35, 0.2, 0.3, 0.4], radius: 16 }],
  ['Pixelate', { op: 'pixelate', rect: [0.35, 0.2, 0.3, 0.4], block: 16 }],
  ['Clock text', { op: 'text', text: '{clock} {stream}', at: 'bottom-left' }],
  ['Brighter', { op: 'color', brightness: 0.15, saturation: 1.2 }],
  ['Watermark', { op: 'watermark', image: 'logo.png', at: 'top-right', opacity: 0.6 }],
  ['Stamp', { op: 'stamp' }],
  ['Analyze', { op: 'analyze' }],
];

// ---- pure helpers (no DOM) ----------------------------------------------

/**
 * A two-step confirmation: press(now) is false on the first press (it
 * arms), true on a press within ms of it (it fires and disarms); a press
 * after that arms again. disarm() forgets a first press.
 */
export class TwoStep {
  constructor(ms) {
    this.ms = ms;
    this.armedAt = null;
  }

  get armed() { return this.armedAt != null; }

  press(now) {
    if (this.armedAt != null && now - this.armedAt <= this.ms) {
      this.armedAt = null;
      return true;
    }
    this.armedAt = now;
    return false;
  }

  disarm() { this.armedAt = null; }
}

/** A chain as JSON with one op per line, so line N+1 is op N. */
export function formatChain(chain) {
  if (!Array.isArray(chain) || chain.length === 0) return '[]';
  return '[\n' + chain.map((op) => '  ' + compactJSON(op)).join(',\n') + '\n]';
}

function compactJSON(v) {
  if (Array.isArray(v)) return '[' + v.map(compactJSON).join(', ') + ']';
  if (v && typeof v === 'object') {
    const parts = [];
    for (const k of Object.keys(v)) {
      if (v[k] === undefined) continue;
      parts.push(`${JSON.stringify(k)}: ${compactJSON(v[k])}`);
    }
    return '{' + parts.join(', ') + '}';
  }
  const s = JSON.stringify(v);
  return s === undefined ? 'null' : s;
}

/**
 * Where each element of a top-level JSON array lies in `text`:
 * [[start, end], ...] (end exclusive), or null when the text does not
 * start with an array. Works on invalid JSON as far as it goes.
 */
export function elementRanges(text) {
  const out = [];
  let depth = 0, inStr = false, esc = false, start = -1, end = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inStr) {
      if (esc) esc = false;
      else if (c === '\\') esc = true;
      else if (c === '"') inStr = false;
      end = i + 1;
      continue;
    }
    if (c === ' ' || c === '\n' || c === '\r' || c === '\t') continue;
    if (depth === 0) {
      if (c !== '[') return null;
      depth = 1;
      continue;
    }
    if (depth === 1) {
      if (c === ',' || c === ']') {
        if (start >= 0) out.push([start, end]);
        start = -1;
        if (c === ']') return out;
        continue;
      }
      if (start < 0) start = i;
    }
    if (c === '"') inStr = true;
    else if (c === '[' || c === '{') depth++;
    else if (c === ']' || c === '}') depth--;
    end = i + 1;
  }
  if (start >= 0) out.push([start, end]);
  return out;
}

/** The message of a chain error without its "op N (name): field: " prefix. */
export function chainErrorMessage(body) {
  let msg = String((body && body.error) || '');
  const m = /^op -?\d+(?: \([^)]*\))?: /.exec(msg);
  if (m) msg = msg.slice(m[0].length);
  if (body && body.field && msg.startsWith(body.field + ': ')) msg = msg.slice(body.field.length + 2);
  return msg;
}

const secs = (x) => (typeof x === 'number' && isFinite(x) ? x.toFixed(2) : '–');

/** A short line for a stream event. */
export function describeEvent(ev) {
  switch (ev.type) {
    case 'scene_cut':
      return `scene cut at ${secs(ev.pts)} s` + (typeof ev.score === 'number' ? ` (${ev.score.toFixed(2)})` : '');
    case 'black_start':
      return `black from ${secs(ev.from ?? ev.pts)} s`;
    case 'black':
      return `black ${secs(ev.from)} → ${secs(ev.to ?? ev.pts)} s`;
    case 'frozen_start':
      return `frozen from ${secs(ev.from ?? ev.pts)} s`;
    case 'frozen':
      return `frozen ${secs(ev.from)} → ${secs(ev.to ?? ev.pts)} s`;
    default: {
      const t = String(ev.type || 'event').replace(/_/g, ' ');
      return typeof ev.pts === 'number' ? `${t} at ${secs(ev.pts)} s` : t;
    }
  }
}

function clockTime(d) {
  const p = (n) => String(n).padStart(2, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

async function readBody(res) {
  let text = '';
  try { text = await res.text(); } catch { /* no body */ }
  try { return JSON.parse(text); } catch { /* not JSON */ }
  return { error: text.trim().split('\n')[0] || `HTTP ${res.status}` };
}

function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  Object.assign(e, props);
  e.append(...children.filter((c) => c != null));
  return e;
}

// ---- the panel ------------------------------------------------------------

export function initOperator({ name, open = false, viewerToken = () => '' }) {
  const $ = (id) => document.getElementById(id);
  const section = $('operator');
  const toggle = $('operator-toggle');
  const tokenIn = $('op-token');
  const chainIn = $('op-chain');
  const result = $('op-result');
  const dirtyEl = $('op-dirty');
  const backendEl = $('op-backend');
  const buttons = [$('op-apply'), $('op-clear'), $('op-reload')];
  const evList = $('op-events');
  const evEmpty = $('op-events-empty');
  const evState = $('op-events-state');

  const api = `/api/v1/streams/${encodeURIComponent(name)}`;
  let isOpen = false;
  let dirty = false;
  let seq = 0;   // the latest request whose answer may be shown
  let busy = 0;

  // ---- tokens ----
  // Reads carry the viewer token, else the admin token (which may read too).
  function readToken() {
    return viewerToken() || tokenIn.value.trim();
  }
  try { tokenIn.value = localStorage.getItem(TOKEN_KEY) || ''; } catch { /* no storage */ }
  function saveToken() {
    tokenIn.classList.remove('invalid');
    try {
      if (tokenIn.value) localStorage.setItem(TOKEN_KEY, tokenIn.value);
      else localStorage.removeItem(TOKEN_KEY);
    } catch { /* no storage */ }
  }
  tokenIn.addEventListener('input', saveToken);

  // ---- chain text ----
  function setDirty(v) {
    dirty = v;
    dirtyEl.hidden = !v;
  }
  function setChainText(text) {
    chainIn.value = text;
    setDirty(false);
  }
  chainIn.addEventListener('input', () => setDirty(true));
  chainIn.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      applyText();
    }
  });

  function selectOp(index) {
    const ranges = elementRanges(chainIn.value);
    if (!ranges || !ranges[index] || section.hidden) return;
    chainIn.focus();
    chainIn.setSelectionRange(ranges[index][0], ranges[index][1]);
  }

  // ---- result line ----
  function show(...nodes) {
    result.replaceChildren(...nodes);
  }
  function showState(body, verb) {
    const chain = Array.isArray(body.chain) ? body.chain : [];
    backendEl.textContent = body.backend ? `backend ${body.backend}` : '';
    const n = `${chain.length} op${chain.length === 1 ? '' : 's'}`;
    let line = `${verb} · ${n}`;
    if (typeof body.cost_ms === 'number' && typeof body.budget_ms === 'number' && body.budget_ms > 0) {
      const pct = Math.round((body.cost_ms / body.budget_ms) * 100);
      line += ` · ${body.cost_ms.toFixed(2)} of ${body.budget_ms.toFixed(1)} ms per frame (${pct} %)`;
      if (body.measured_at) line += ` at ${body.measured_at}`;
    }
    if (body.backend) line += ` on ${body.backend}`;
    const warnings = Array.isArray(body.warnings) ? body.warnings : [];
    show(el('p', { className: 'ok' }, line),
      ...warnings.map((w) => el('p', { className: 'warn' }, `⚠ ${w}`)));
  }
  function showError(status, body) {
    const p = el('p', { className: 'error' });
    if (status === 400 && typeof body.index === 'number' && body.index >= 0) {
      p.append(el('strong', {}, `op ${body.index}${body.op ? ` (${body.op})` : ''}`), ' · ');
      if (body.field) p.append(el('mark', {}, body.field), ': ');
      p.append(chainErrorMessage(body));
      p.dataset.index = String(body.index);
      if (body.field) p.dataset.field = body.field;
    } else if (status === 400) {
      p.append(el('strong', {}, 'chain'), ' · ', chainErrorMessage(body));
    } else {
      p.append(String(body.error || `HTTP ${status}`));
    }
    const hint = {
      0: 'no answer from the server',
      401: 'check the admin token (and the viewer token, if the server has one)',
      404: 'unknown stream',
      422: 'over the frame budget; nothing was changed',
    }[status];
    show(p, el('p', { className: 'muted small' }, status ? `HTTP ${status}${hint ? ' · ' + hint : ''}` : hint));
    if (status === 401) tokenIn.classList.add('invalid');
    if (status === 400 && typeof body.index === 'number' && body.index >= 0) selectOp(body.index);
  }

  function setBusy(d) {
    busy += d;
    for (const b of buttons) b.disabled = busy > 0;
  }

  // ---- requests ----
  async function get() {
    const token = readToken();
    const headers = token ? { Authorization: `Bearer ${token}` } : {};
    const res = await fetch(`${api}/mutations`, { cache: 'no-store', headers });
    const body = await readBody(res);
    return { status: res.status, body };
  }

  async function load({ force = false } = {}) {
    const my = ++seq;
    setBusy(1);
    try {
      const { status, body } = await get();
      if (my !== seq) return;
      if (status !== 200) {
        showError(status, body);
        return;
      }
      const keep = dirty && !force;
      if (!keep) setChainText(formatChain(body.chain));
      showState(body, keep ? 'In force (your edits kept; Reload discards them)' : 'Loaded');
    } catch (err) {
      if (my === seq) showError(0, { error: err.message || String(err) });
    } finally {
      setBusy(-1);
    }
  }

  async function put(bodyText) {
    const my = ++seq;
    setBusy(1);
    const headers = { 'Content-Type': 'application/json' };
    const token = tokenIn.value.trim();
    if (token) headers.Authorization = `Bearer ${token}`;
    let status = 0, body;
    try {
      const res = await fetch(`${api}/mutations`, { method: 'PUT', headers, body: bodyText, cache: 'no-store' });
      status = res.status;
      body = await readBody(res);
    } catch (err) {
      body = { error: err.message || String(err) };
    } finally {
      setBusy(-1);
    }
    if (my === seq) {
      if (status === 200) {
        setChainText(formatChain(body.chain));
        tokenIn.classList.remove('invalid');
        showState(body, Array.isArray(body.chain) && body.chain.length ? 'Applied' : 'Cleared');
      } else {
        showError(status, body);
      }
    }
    return { status, body };
  }

  function applyText() {
    const text = chainIn.value.trim() || '[]';
    try {
      JSON.parse(text);
    } catch (err) {
      show(el('p', { className: 'error' }, el('strong', {}, 'JSON'), ' · ', err.message));
      return Promise.resolve(null);
    }
    return put(text);
  }

  function quickAdd(op) {
    const text = chainIn.value.trim();
    let chain = [];
    if (text) {
      try { chain = JSON.parse(text); } catch { chain = null; }
      if (!Array.isArray(chain)) {
        show(el('p', { className: 'error' }, 'The chain is not a JSON array; fix it before adding ops.'));
        return;
      }
    }
    chain.push(structuredCloneOp(op));
    chainIn.value = formatChain(chain);
    setDirty(true);
    const ranges = elementRanges(chainIn.value);
    if (ranges && ranges.length) {
      const [a, b] = ranges[ranges.length - 1];
      chainIn.focus();
      chainIn.setSelectionRange(a, b);
    }
  }
  const structuredCloneOp = (op) => JSON.parse(JSON.stringify(op));

  const quick = $('op-quick');
  for (const [label, op] of QUICK_OPS) {
    const b = el('button', { type: 'button', textContent: label, title: JSON.stringify(op) });
    b.dataset.op = op.op;
    b.addEventListener('click', () => quickAdd(op));
    quick.append(b);
  }
  $('op-apply').addEventListener('click', applyText);
  // Clear asks first: one click arms it, a second within CLEAR_CONFIRM_MS clears.
  const clearBtn = $('op-clear');
  const clearStep = new TwoStep(CLEAR_CONFIRM_MS);
  let clearTimer = 0;
  function disarmClear() {
    clearTimeout(clearTimer);
    clearStep.disarm();
    clearBtn.textContent = 'Clear';
    delete clearBtn.dataset.armed;
  }
  clearBtn.addEventListener('click', () => {
    if (clearStep.press(performance.now())) {
      disarmClear();
      put('[]');
      return;
    }
    clearBtn.textContent = 'Clear? click again';
    clearBtn.dataset.armed = '1';
    clearTimeout(clearTimer);
    clearTimer = setTimeout(disarmClear, CLEAR_CONFIRM_MS);
  });
  $('op-reload').addEventListener('click', () => load({ force: true }));

  // ---- events ----
  let es = null;
  let esRetry = 0;

  function setEventsState(state, text) {
    evState.dataset.state = state;
    evState.textContent = text;
  }

  function addEvent(data) {
    let ev;
    try { ev = JSON.parse(data); } catch { return; }
    if (!ev || typeof ev !== 'object' || Array.isArray(ev)) return;
    const now = new Date();
    const li = el('li', { title: JSON.stringify(ev) },
      el('time', { dateTime: now.toISOString() }, clockTime(now)), ' ',
      el('span', {}, describeEvent(ev)));
    li.dataset.type = String(ev.type || '');
    evList.prepend(li);
    while (evList.children.length > MAX_EVENTS) evList.lastElementChild.remove();
    evEmpty.hidden = true;
  }

  function openEvents() {
    if (es || !name || typeof EventSource === 'undefined') return;
    clearTimeout(esRetry);
    const token = readToken();
    const src = new EventSource(`${api}/events${token ? `?token=${encodeURIComponent(token)}` : ''}`);
    es = src;
    setEventsState('connecting', 'connecting');
    src.onopen = () => { if (es === src) setEventsState('playing', 'live'); };
    src.onmessage = (m) => { if (es === src) addEvent(m.data); };
    src.onerror = () => {
      if (es !== src) return;
      if (src.readyState === EventSource.CLOSED) {
        // Refused (404, ...): the browser gives up; try again later.
        src.close();
        es = null;
        setEventsState('error', 'unavailable');
        esRetry = setTimeout(() => { if (isOpen) openEvents(); }, EVENTS_RETRY_MS);
      } else {
        setEventsState('connecting', 'reconnecting');
      }
    };
  }

  function closeEvents() {
    clearTimeout(esRetry);
    if (es) {
      es.onopen = es.onmessage = es.onerror = null;
      es.close();
      es = null;
    }
    setEventsState('idle', 'closed');
  }

  $('op-events-clear').addEventListener('click', () => {
    evList.replaceChildren();
    evEmpty.hidden = false;
  });

  // ---- open / close ----
  function setOpen(v, { scroll = false } = {}) {
    isOpen = !!v;
    section.hidden = !isOpen;
    toggle.setAttribute('aria-expanded', String(isOpen));
    toggle.classList.toggle('active', isOpen);
    if (isOpen) {
      openEvents();
      if (name) load();
      if (scroll) section.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
    } else {
      closeEvents();
    }
  }
  toggle.addEventListener('click', () => setOpen(!isOpen, { scroll: true }));
  $('op-close').addEventListener('click', () => { setOpen(false); toggle.focus(); });
  addEventListener('pagehide', closeEvents);
  addEventListener('pageshow', (e) => { if (e.persisted && isOpen) openEvents(); });

  if (!name) {
    for (const b of buttons) b.disabled = true;
    buttons.length = 0;
  }
  setOpen(open);

  const ops = {
    setToken(t) {
      tokenIn.value = t == null ? '' : String(t);
      saveToken();
    },
    apply(chain) {
      const text = typeof chain === 'string' ? chain : JSON.stringify(chain);
      chainIn.value = Array.isArray(chain) ? formatChain(chain) : text;
      setDirty(true);
      return put(text);
    },
    async get() {
      const { body } = await get();
      return body;
    },
    open() { setOpen(true); },
    close() { setOpen(false); },
    get isOpen() { return isOpen; },
  };
  window.mediadOperator = ops;
  return ops;
}
