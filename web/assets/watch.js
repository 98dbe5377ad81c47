// watch.js — the player page, /watch/NAME[?rung=360p][&measure=1][&operator=1].
// measure=1 reads the clock test source's time code from each frame and
// shows the glass-to-glass latency (latency.js). operator=1 opens the
// operator panel (operator.js): the stream's mutation chain and events.
// token=T is the viewer token (viewertoken.js): kept in sessionStorage,
// taken off the address bar, sent on WHEP and API requests; when the
// server refuses it, a form asks for another.
//
// window.mediad.events holds the stream events received on the "events"
// data channel, newest last, at most MAX_EVENTS. window.mediad.server is
// what the server says about this viewer's adaptation (whep.js): its
// bandwidth estimate, controller state, audio-only mode and the rung
// switches, newest last.
import { WhepPlayer, formatBitrate } from '/assets/whep.js';
import { LatencyMeter } from '/assets/latency.js';
import { initOperator } from '/assets/operator.js';
import { adoptToken, authHeaders, bindTokenForm } from '/assets/viewertoken.js';

const MAX_EVENTS = 500;
const SHOWN_SWITCHES = 5;

const $ = (id) => document.getElementById(id);
const video = $('video');
const select = $('rung');
const statusEl = $('status');

const params = new URLSearchParams(location.search);
let token = adoptToken(); // before anything reads or shows the URL
const segments = location.pathname.split('/').filter(Boolean);
let name = params.get('stream') || '';
if (!name && segments.length > 1) {
  try { name = decodeURIComponent(segments[segments.length - 1]); } catch { name = segments[segments.length - 1]; }
}

const player = new WhepPlayer(video, name, { rung: params.get('rung') || '', events: true, token, codec: params.get('codec') || '' });
const events = [];
player.on('event', (ev) => {
  events.push(ev);
  if (events.length > MAX_EVENTS) events.splice(0, events.length - MAX_EVENTS);
});

window.mediad = {
  get pc() { return player.pc; },
  get state() { return player.state; },
  get rung() { return player.rung; },
  get stats() { return player.stats; },
  get requestedRung() { return player.requestedRung; },
  get server() { return player.server; },
  player,
  events,
  setRung(r) {
    const v = r ? String(r) : 'auto';
    ensureOption(v);
    select.value = v;
    return player.setRung(v);
  },
};

document.title = `${name || 'mediad'} · mediad`;
$('name').textContent = name || '(no stream)';
$('whep-url').value = player.url;

// ---- state --------------------------------------------------------------
function showState({ state, detail }) {
  document.body.dataset.state = state;
  statusEl.dataset.state = state;
  statusEl.textContent = detail ? `${state}: ${detail}` : state;
}
player.on('state', showState);

// ---- viewer token ---------------------------------------------------------
const tokenForm = bindTokenForm($('token-form'), (t) => {
  token = t;
  player.setToken(t);
  refreshInfo();
});
function askToken() {
  tokenForm.show(token ? 'The server refused this viewer token; enter another.' : 'This server needs a viewer token to watch.');
}
player.on('state', ({ state }) => {
  if (state === 'unauthorized') askToken();
  else if (state === 'playing') tokenForm.hide();
});

// ---- rung menu ----------------------------------------------------------
function ensureOption(value) {
  if ([...select.options].some((o) => o.value === value)) return;
  select.append(new Option(value, value));
}

// The video codec the player receives ('h264', 'vp8'), from its stats;
// the rung menu lists that codec's rungs.
let playingCodec = '';

function setRungOptions(all) {
  // A frame-rate-capped variant is picked by the adaptation, not offered;
  // a rung name stands once, for the codec being received.
  const codec = playingCodec || (all[0] && all[0].codec) || '';
  const rungs = all.filter((r) => !r.low_fps_of && (!codec || !r.codec || r.codec === codec));
  const want = ['auto', ...rungs.map((r) => r.name)];
  const have = [...select.options].map((o) => o.value);
  if (want.join('\n') === have.join('\n')) return;
  const current = select.value;
  select.replaceChildren(...want.map((n) => new Option(n, n)));
  for (const r of rungs) {
    const o = [...select.options].find((x) => x.value === r.name);
    if (o) o.title = [r.codec, r.width && `${r.width}×${r.height} ${r.fps} fps`, r.bitrate && formatBitrate(r.bitrate)].filter(Boolean).join(', ');
  }
  ensureOption(current);
  select.value = current;
}

select.addEventListener('change', () => player.setRung(select.value));
if (player.requestedRung) {
  ensureOption(player.requestedRung);
  select.value = player.requestedRung;
}

player.on('rung', ({ rung, reason }) => {
  $('st-rung').textContent = rung ? (reason ? `${rung} (${reason})` : rung) : '–';
});

// ---- what the server says (estimate, controller, switches) ---------------
const clockTime = (t) => new Date(t * 1000).toLocaleTimeString([], { hour12: false });

function showServer(sv) {
  const est = $('st-est');
  if (sv.estimate == null) {
    est.textContent = '–';
  } else {
    est.textContent = formatBitrate(sv.estimate);
    if (sv.smoothed != null) est.title = `smoothed ${formatBitrate(sv.smoothed)}`;
  }
  const ctl = $('st-ctl').firstElementChild;
  ctl.textContent = sv.state || '–';
  ctl.dataset.state = sv.state || '';

  const badge = $('audio-only');
  badge.hidden = !sv.audioOnly;
  badge.textContent = sv.audioOnlyReason ? `audio only · ${sv.audioOnlyReason}` : 'audio only';
  document.body.classList.toggle('audio-only', !!sv.audioOnly);
  const rung = sv.rung || player.rung;
  const reason = sv.reason || player.rungReason;
  if (sv.audioOnly) $('st-rung').textContent = `audio only${rung ? ` (${rung} stills)` : ''}`;
  else $('st-rung').textContent = rung ? (reason ? `${rung} (${reason})` : rung) : '–';

  const list = $('switches');
  const last = sv.switches.slice(-SHOWN_SWITCHES).reverse();
  if (last.length === 0) {
    list.replaceChildren(Object.assign(document.createElement('li'), { className: 'muted', textContent: 'none yet' }));
    return;
  }
  list.replaceChildren(...last.map((w) => {
    const li = document.createElement('li');
    const time = document.createElement('time');
    time.textContent = clockTime(w.t);
    time.dateTime = new Date(w.t * 1000).toISOString();
    const what = document.createElement('span');
    what.textContent = w.from && w.from !== w.to ? `${w.from} → ${w.to}` : w.to || '–';
    const why = document.createElement('span');
    why.className = 'reason';
    why.dataset.reason = w.reason.split(':')[0];
    why.textContent = w.reason || '–';
    li.append(time, what, why);
    return li;
  }));
}
player.on('server', showServer);

// ---- stream info from the API ------------------------------------------
async function refreshInfo() {
  if (!name || tokenForm.shown) return; // asked for a token: wait for it
  try {
    const res = await fetch(`/api/v1/streams/${encodeURIComponent(name)}`, { cache: 'no-store', headers: authHeaders(token) });
    if (res.status === 401) {
      askToken();
      return;
    }
    if (res.status === 404) {
      $('source').textContent = 'Unknown stream.';
      return;
    }
    if (!res.ok) return;
    const s = await res.json();
    // feeds: every rung of every codec; rungs: the H.264 ones (older servers: all).
    const rungs = Array.isArray(s.feeds) ? s.feeds : Array.isArray(s.rungs) ? s.rungs : [];
    setRungOptions(rungs);
    $('ladder').textContent = ladderText(rungs) || '–';
    const src = s.source || {};
    const aud = s.source_audio || {};
    const parts = [];
    if (src.width) parts.push(`source ${src.width}×${src.height}${src.fps ? ` @${+src.fps.toFixed(2)}` : ''} ${src.codec || ''}`.trim());
    if (aud.codec) parts.push(`${aud.codec} ${aud.sample_rate ? aud.sample_rate / 1000 + ' kHz' : ''}`.trim());
    if (s.protocol) parts.push(`via ${s.protocol}`);
    parts.push(`${s.viewers ?? 0} watching`);
    $('source').textContent = (s.live ? '' : 'offline · ') + parts.join(' · ');
  } catch {
    // the API being down is shown by the player state anyway
  }
}

// ladderText lists the rungs by codec: "h264: 720p 360p · vp8: 720p 360p".
function ladderText(rungs) {
  const by = new Map();
  for (const r of rungs) {
    if (r.low_fps_of) continue;
    const c = r.codec || 'h264';
    if (!by.has(c)) by.set(c, []);
    by.get(c).push(r.name);
  }
  return [...by].map(([c, names]) => `${c}: ${names.join(' ')}`).join(' · ');
}

// ---- stats --------------------------------------------------------------
player.on('stats', (s) => {
  if (s.codec && s.codec !== playingCodec) {
    playingCodec = s.codec;
    refreshInfo(); // the rung menu follows the codec received
  }
  $('st-res').textContent = s.width && s.height ? `${s.width}×${s.height}` : '–';
  $('st-fps').textContent = s.fps != null ? s.fps.toFixed(1) : '–';
  $('st-vbr').textContent = formatBitrate(s.videoBitrate);
  $('st-abr').textContent = formatBitrate(s.audioBitrate);
  $('st-rtt').textContent = s.rtt != null ? `${Math.round(s.rtt * 1000)} ms` : '–';
  $('st-loss').textContent = `${s.lost} / ${s.packetsReceived} (${(s.lossRatio * 100).toFixed(2)} %)`;
  $('st-freeze').textContent = s.freezeCount != null ? String(s.freezeCount) : '–';
  $('st-codec').textContent = s.codec || '–';
});

// ---- latency (?measure=1) -------------------------------------------------
if (params.get('measure') === '1') {
  const meter = new LatencyMeter(video);
  window.mediad.latency = meter;
  for (const e of document.querySelectorAll('.latency')) e.hidden = false;
  setInterval(() => {
    const s = meter.summary();
    $('st-lat').textContent = s.count ? `${s.p50} / ${s.p95} ms` : '–';
    $('st-lat-n').textContent = `${s.count} read · ${s.failed} unreadable`;
  }, 1000);
}

// ---- mute ---------------------------------------------------------------
const unmute = $('unmute');
const muteToggle = $('mute-toggle');
function showMute() {
  unmute.hidden = !video.muted;
  muteToggle.textContent = video.muted ? 'Unmute' : 'Mute';
}
function toggleMute() {
  video.muted = !video.muted;
  const p = video.play();
  if (p) p.catch(() => {});
  showMute();
}
unmute.addEventListener('click', toggleMute);
muteToggle.addEventListener('click', toggleMute);
video.addEventListener('volumechange', showMute);
showMute();

// ---- copy ---------------------------------------------------------------
$('copy').addEventListener('click', async () => {
  const input = $('whep-url');
  try {
    await navigator.clipboard.writeText(input.value);
  } catch {
    input.select();
    document.execCommand('copy');
  }
  $('copy').textContent = 'Copied';
  setTimeout(() => { $('copy').textContent = 'Copy'; }, 1500);
});

// ---- operator panel -----------------------------------------------------
try {
  initOperator({ name, open: params.get('operator') === '1', viewerToken: () => token });
} catch (err) {
  console.error('operator panel:', err); // playback goes on without it
}

// ---- lifecycle ----------------------------------------------------------
addEventListener('pagehide', () => player.stop());
addEventListener('pageshow', (e) => { if (e.persisted) player.start(); });

showState(player);
if (name) {
  player.start();
  refreshInfo();
  setInterval(refreshInfo, 5000);
} else {
  showState({ state: 'error', detail: 'no stream name in the URL' });
}
