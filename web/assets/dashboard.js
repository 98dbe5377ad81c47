// dashboard.js — /dashboard[?stream=NAME]: each viewer of a stream with a
// chart of its adaptation (chart.js) over the last five minutes, from
// GET /api/v1/streams/NAME/viewers, polled every POLL_MS. A viewer token
// (?token=T, or asked for after a 401) is sent with each request
// (viewertoken.js).
//
// window.mediadDashboard, for tests:
//   stream     the stream shown
//   viewers    the last viewers answer (array)
//   refresh()  polls now; resolves when drawn
import { formatBitrate } from '/assets/whep.js';
import { drawViewerChart, COLORS, LEGEND } from '/assets/chart.js';
import { adoptToken, authHeaders, bindTokenForm } from '/assets/viewertoken.js';

const POLL_MS = 2000;
const STREAMS_MS = 10000;

const $ = (id) => document.getElementById(id);
const select = $('stream');
const statusEl = $('status');
const list = $('viewers');
let token = adoptToken(); // before the URL is read or rewritten
const params = new URLSearchParams(location.search);

let stream = params.get('stream') || '';
let viewers = [];
let gen = 0;            // bumped when the stream changes; stale answers are dropped
let pollTimer = null;
const cards = new Map(); // viewer id → {root, head, canvas, data, hoverX}

window.mediadDashboard = {
  get stream() { return stream; },
  get viewers() { return viewers; },
  refresh: () => poll(),
};

// ---- helpers ------------------------------------------------------------
function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  Object.assign(e, props);
  e.append(...children.filter((c) => c != null));
  return e;
}

function setStatus(state, text) {
  statusEl.dataset.state = state;
  statusEl.textContent = text;
}

function showError(msg) {
  $('dash-error').hidden = !msg;
  $('dash-error').textContent = msg || '';
}

const pct = (x) => (x != null && isFinite(x) ? `${(x * 100).toFixed(1)} %` : '–');
const ms = (x) => (x != null && isFinite(x) && x > 0 ? `${x < 10 ? x.toFixed(1) : Math.round(x)} ms` : '–');

// ---- viewer token ---------------------------------------------------------
const tokenForm = bindTokenForm($('token-form'), (t) => {
  token = t;
  showError('');
  loadStreams();
  poll();
});
function askToken() {
  setStatus('unauthorized', 'viewer token needed');
  tokenForm.show(token ? 'The server refused this viewer token; enter another.' : 'This server needs a viewer token.');
}

// ---- stream picker ------------------------------------------------------
let streamsTimer = 0;
async function loadStreams() {
  clearTimeout(streamsTimer);
  let again = true; // not after a 401: the token form starts it again
  try {
    const res = await fetch('/api/v1/streams', { cache: 'no-store', headers: authHeaders(token) });
    if (res.status === 401) {
      again = false;
      askToken();
      return;
    }
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const data = await res.json();
    const streams = Array.isArray(data.streams) ? data.streams : [];
    streams.sort((a, b) => (b.live - a.live) || a.name.localeCompare(b.name));
    fillSelect(streams);
    if (!stream) {
      const first = streams.find((s) => s.live) || streams[0];
      if (first) choose(first.name);
      else {
        setStatus('idle', 'no streams');
        $('no-viewers').hidden = false;
        $('no-viewers').textContent = 'No streams. Publish one, then come back.';
      }
    }
  } catch (err) {
    if (!stream) {
      setStatus('error', 'API unreachable');
      showError(`Cannot load streams: ${err.message || err}`);
    }
  } finally {
    if (again) streamsTimer = setTimeout(loadStreams, STREAMS_MS);
  }
}

function fillSelect(streams) {
  const opts = streams.map((s) => {
    const o = new Option(`${s.name}${s.live ? '' : ' (offline)'} · ${s.viewers ?? 0} watching`, s.name);
    return o;
  });
  if (stream && !streams.some((s) => s.name === stream)) opts.unshift(new Option(`${stream} (unknown)`, stream));
  if (opts.length === 0) opts.push(new Option('no streams', ''));
  const key = (o) => `${o.value}\t${o.text}`;
  if (opts.map(key).join('\n') === [...select.options].map(key).join('\n')) return;
  select.replaceChildren(...opts);
  select.value = stream;
}

function choose(name) {
  if (name === stream && pollTimer) return;
  stream = name;
  gen++;
  for (const c of cards.values()) c.root.remove();
  cards.clear();
  viewers = [];
  if (select.value !== name) {
    if (![...select.options].some((o) => o.value === name)) select.append(new Option(name, name));
    select.value = name;
  }
  const url = new URL(location.href);
  url.searchParams.set('stream', name);
  history.replaceState(null, '', url);
  document.title = `${name} · dashboard · mediad`;
  const link = $('watch-link');
  link.href = `/watch/${encodeURIComponent(name)}`;
  link.hidden = !name;
  setStatus('connecting', 'loading');
  poll();
}

select.addEventListener('change', () => { if (select.value) choose(select.value); });

// ---- polling ------------------------------------------------------------
async function poll() {
  clearTimeout(pollTimer);
  pollTimer = null;
  const mine = gen;
  const name = stream;
  if (!name) return;
  let again = true; // not after a 401: the token form starts it again
  try {
    const res = await fetch(`/api/v1/streams/${encodeURIComponent(name)}/viewers`, { cache: 'no-store', headers: authHeaders(token) });
    if (mine !== gen) return;
    if (res.status === 401) {
      again = false;
      askToken();
    } else if (res.status === 404) {
      let msg = 'stream not found';
      try { const j = await res.json(); if (j && j.error) msg = String(j.error); } catch { /* not JSON */ }
      if (mine !== gen) return;
      setStatus('error', msg);
      showError('');
      render([], `No stream named “${name}”.`);
    } else if (!res.ok) {
      throw new Error(`HTTP ${res.status}`);
    } else {
      const data = await res.json();
      if (mine !== gen) return;
      const vs = Array.isArray(data.viewers) ? data.viewers : [];
      showError('');
      const live = [...select.options].find((o) => o.value === name);
      const offline = live && /\(offline\)/.test(live.text);
      const perCodec = codecCounts(vs);
      setStatus(offline ? 'offline' : 'playing',
        `${offline ? 'offline · ' : ''}${vs.length} viewer${vs.length === 1 ? '' : 's'}${perCodec ? ` (${perCodec})` : ''} · ${new Date().toLocaleTimeString([], { hour12: false })}`);
      $('codecs').textContent = perCodec ? `By codec: ${perCodec}` : '';
      render(vs);
    }
  } catch (err) {
    if (mine !== gen) return;
    setStatus('error', 'poll failed');
    showError(`Cannot load viewers: ${err.message || err}`);
  } finally {
    if (mine === gen && again) {
      clearTimeout(pollTimer); // a refresh() may have overlapped this poll
      pollTimer = setTimeout(poll, POLL_MS);
    }
  }
}

// codecCounts says how many viewers get each video codec: "h264 3, vp8 1".
export function codecCounts(vs) {
  const n = new Map();
  for (const v of vs) {
    const c = v.codec || 'h264';
    n.set(c, (n.get(c) || 0) + 1);
  }
  return [...n].sort(([a], [b]) => a.localeCompare(b)).map(([c, k]) => `${c} ${k}`).join(', ');
}

// ---- viewer cards -------------------------------------------------------
function legend() {
  const ul = el('ul', { className: 'legend' });
  for (const [key, label, kind] of LEGEND) {
    const sw = el('span', { className: `swatch ${kind}` });
    sw.style.setProperty('--c', COLORS[key]);
    ul.append(el('li', {}, sw, label));
  }
  return ul;
}

function makeCard(id) {
  const head = el('div', { className: 'viewer-head' });
  const canvas = el('canvas', { className: 'viewer-chart' });
  canvas.setAttribute('role', 'img');
  const root = el('section', { className: 'card viewer' }, head, legend(), canvas);
  root.dataset.viewer = id;
  const card = { root, head, canvas, data: null, hoverX: null };
  const hover = (ev) => {
    const r = canvas.getBoundingClientRect();
    card.hoverX = ev.clientX - r.left;
    draw(card);
  };
  canvas.addEventListener('pointermove', hover);
  canvas.addEventListener('pointerdown', hover);
  canvas.addEventListener('pointerleave', () => { card.hoverX = null; draw(card); });
  resizer.observe(canvas);
  return card;
}

function fillHead(card, v) {
  const item = (label, value, cls) => el('span', { className: `kv${cls ? ' ' + cls : ''}` },
    el('span', { className: 'muted', textContent: label }), ' ', el('b', { textContent: value }));
  const state = el('span', { className: 'ctl', textContent: v.state || '–' });
  state.dataset.state = v.state || '';
  const switches = Array.isArray(v.switches) ? v.switches : [];
  const last = switches[switches.length - 1];
  card.head.replaceChildren(...[
    el('code', { className: 'viewer-id', textContent: v.id || '?' }),
    el('span', { className: 'chip', textContent: v.rung || '–', title: last ? `last switch: ${last.from || '–'} → ${last.to} (${last.reason})` : '' }),
    el('span', { className: 'badge codec', textContent: v.codec || 'h264', title: 'video codec' }),
    state,
    v.manual ? el('span', { className: 'badge manual', textContent: 'manual' }) : null,
    v.audio_only ? el('span', { className: 'badge audio', textContent: 'audio only' }) : null,
    item('estimate', formatBitrate(v.estimate)),
    item('RTT', ms(v.rtt_ms)),
    item('loss', pct(v.loss), v.loss >= 0.02 ? 'bad' : ''),
    item('switches', String(switches.length)),
  ].filter(Boolean));
  card.canvas.setAttribute('aria-label',
    `viewer ${v.id}: ${v.codec || 'h264'}, rung ${v.rung}, state ${v.state}, estimate ${formatBitrate(v.estimate)}, ${switches.length} switches`);
}

function draw(card) {
  if (!card.data) return;
  try {
    drawViewerChart(card.canvas, card.data, { hoverX: card.hoverX });
  } catch (err) {
    console.error('chart:', err);
  }
}

const resizer = new ResizeObserver((entries) => {
  for (const e of entries) {
    const card = [...cards.values()].find((c) => c.canvas === e.target);
    if (card) draw(card);
  }
});

function render(vs, emptyText = 'No viewers.') {
  viewers = vs;
  $('no-viewers').hidden = vs.length > 0;
  $('no-viewers').textContent = emptyText;
  const seen = new Set();
  let prev = null;
  for (const v of vs) {
    const id = String(v.id || '');
    seen.add(id);
    let card = cards.get(id);
    if (!card) {
      card = makeCard(id);
      cards.set(id, card);
    }
    // Keep the server's order, moving only what is out of place.
    const want = prev ? prev.nextSibling : list.firstChild;
    if (card.root !== want) list.insertBefore(card.root, want);
    prev = card.root;
    card.data = v;
    fillHead(card, v);
    draw(card);
  }
  for (const [id, card] of cards) {
    if (seen.has(id)) continue;
    resizer.unobserve(card.canvas);
    card.root.remove();
    cards.delete(id);
  }
}

// ---- start --------------------------------------------------------------
if (stream) choose(stream);
else setStatus('connecting', 'loading');
loadStreams();
