// index.js — the stream list, a featured player and publishing help. A
// viewer token (?token=T, or asked for after a 401) is sent with the list
// request and the player's (viewertoken.js).
import { WhepPlayer, formatBitrate, formatDuration } from '/assets/whep.js';
import { adoptToken, authHeaders, bindTokenForm } from '/assets/viewertoken.js';

const $ = (id) => document.getElementById(id);
const video = $('video');
const statusEl = $('status');
let player = null;
let token = adoptToken();
let refreshTimer = 0;
const tokenForm = bindTokenForm($('token-form'), (t) => {
  token = t;
  if (player) player.setToken(t);
  refresh();
});
function askToken() {
  tokenForm.show(token ? 'The server refused this viewer token; enter another.' : 'This server needs a viewer token to list and watch streams.');
}

window.mediad = {
  get pc() { return player && player.pc; },
  get state() { return player ? player.state : 'idle'; },
  get rung() { return player ? player.rung : ''; },
  get stats() { return player && player.stats; },
  get stream() { return player ? player.name : null; },
  setRung(r) { return player ? player.setRung(r) : false; },
};

// ---- publishing help ----------------------------------------------------
const rtmp = `rtmp://${location.hostname}:1935/live`;
$('rtmp-url').textContent = rtmp;
$('ffmpeg').textContent =
  `ffmpeg -re -i input.mp4 -c:v libx264 -preset veryfast -g 60 -c:a aac -f flv "${rtmp}/NAME?token=TOKEN"`;
$('watch-url').textContent = `${location.origin}/watch/NAME`;

// ---- helpers ------------------------------------------------------------
function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  Object.assign(e, props);
  e.append(...children.filter((c) => c != null));
  return e;
}

const watchHref = (name) => `/watch/${encodeURIComponent(name)}`;

function describeSource(s) {
  const v = s.source;
  if (!v || !v.width) return '–';
  const fps = v.fps ? ` @${+Number(v.fps).toFixed(2)}` : '';
  return `${v.width}×${v.height}${fps}${v.codec ? ' ' + v.codec : ''}`;
}

// rungChips shows the rungs grouped by video codec: "h264 720p 360p vp8 720p 360p".
function rungChips(rungs) {
  if (!Array.isArray(rungs) || rungs.length === 0) return '–';
  const span = el('span', { className: 'chips' });
  let codec = null;
  for (const r of rungs) {
    const c = r.codec || 'h264';
    if (c !== codec) {
      codec = c;
      span.append(el('span', { className: 'muted small codec', textContent: c }));
    }
    span.append(el('span', {
      className: 'chip',
      textContent: r.name,
      title: `${c} ${r.width}×${r.height} ${r.fps} fps, ${formatBitrate(r.bitrate)}`,
    }));
  }
  return span;
}

// ---- stream table -------------------------------------------------------
function render(streams) {
  const body = $('streams');
  if (streams.length === 0) {
    body.replaceChildren(el('tr', {}, el('td', { colSpan: 6, className: 'muted', textContent: 'No streams. Publish one — see below.' })));
    return;
  }
  body.replaceChildren(...streams.map((s) => el('tr', {},
    el('td', {}, el('a', { href: watchHref(s.name), textContent: s.name })),
    el('td', {}, el('span', { className: `badge ${s.live ? 'live' : 'offline'}`, textContent: s.live ? 'live' : 'offline' })),
    el('td', { textContent: describeSource(s) }),
    el('td', {}, rungChips(Array.isArray(s.feeds) ? s.feeds : s.rungs)),
    el('td', { className: 'num', textContent: String(s.viewers ?? 0) }),
    el('td', { className: 'num', textContent: s.live ? formatDuration(s.uptime_seconds) : '–' }),
  )));
}

// ---- featured player ----------------------------------------------------
function pick(streams) {
  const live = streams.filter((s) => s.live);
  return (live.find((s) => s.name === 'demo') || live[0] || null);
}

function feature(streams) {
  const best = pick(streams);
  const current = player && streams.find((s) => s.name === player.name);
  // Keep the current stream while it exists and is live (or nothing better is).
  if (player && current && (current.live || !best)) return;
  if (player && !current && !best) return; // keep trying; it may come back
  if (!best || (player && player.name === best.name)) return;

  if (player) player.stop();
  player = new WhepPlayer(video, best.name, { token });
  player.on('state', ({ state, detail }) => {
    document.body.dataset.state = state;
    statusEl.hidden = false;
    statusEl.dataset.state = state;
    statusEl.textContent = detail ? `${state}: ${detail}` : state;
  });
  $('placeholder').hidden = true;
  const link = $('featured-link');
  link.href = watchHref(best.name);
  link.textContent = `${best.name} ↗`;
  player.start();
}

// ---- refresh loop -------------------------------------------------------
async function refresh() {
  clearTimeout(refreshTimer);
  let again = true; // not after a 401: the token form starts it again
  try {
    const res = await fetch('/api/v1/streams', { cache: 'no-store', headers: authHeaders(token) });
    if (res.status === 401) {
      again = false;
      $('api-error').hidden = true;
      askToken();
      return;
    }
    tokenForm.hide();
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const data = await res.json();
    const streams = Array.isArray(data.streams) ? data.streams : [];
    streams.sort((a, b) => (b.live - a.live) || a.name.localeCompare(b.name));
    $('api-error').hidden = true;
    render(streams);
    feature(streams);
  } catch (err) {
    $('api-error').hidden = false;
    $('api-error').textContent = `Cannot load streams: ${err.message || err}`;
  } finally {
    if (again) refreshTimer = setTimeout(refresh, 3000);
  }
}

video.addEventListener('click', () => { if (player) location.href = watchHref(player.name); });
addEventListener('pagehide', () => { if (player) player.stop(); });
addEventListener('pageshow', (e) => { if (e.persisted && player) player.start(); });

refresh();
