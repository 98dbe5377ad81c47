// publish.js — the publisher page, /publish/NAME (or ?stream=NAME).
//
// Query parameters (for automated tests): token, source (camera|screen|clock),
// width, height, fps, bitrate (kb/s), codec (auto|h264|vp8), autostart=1.
import { WhipClient, whipPath } from '/assets/whip.js';
import { whepPath, formatBitrate } from '/assets/whep.js';
import { clockStream } from '/assets/clock.js';
import { parseVideoCodecChoice } from '/assets/sdp.js';

const $ = (id) => document.getElementById(id);
const preview = $('preview');
const statusEl = $('status');
const sourceSel = $('source'), cameraSel = $('camera'), micSel = $('mic');
const resSel = $('resolution'), bitrateIn = $('bitrate'), tokenIn = $('token'), codecSel = $('codec');
const startBtn = $('start'), stopBtn = $('stop');

const params = new URLSearchParams(location.search);
const segments = location.pathname.split('/').filter(Boolean);
let name = params.get('stream') || '';
if (!name && segments[0] === 'publish' && segments.length > 1) {
  try { name = decodeURIComponent(segments[segments.length - 1]); } catch { name = segments[segments.length - 1]; }
}
const tokenKey = `mediad.publish.token.${name}`;

let state = 'idle';
let error = null;        // {message, status} of the last failure
let client = null;       // WhipClient
let media = null;        // {stream, stop()}
let stats = null;
let run = 0;             // bumps on every start/stop, to drop stale results

// ---- page setup ---------------------------------------------------------
document.title = `${name || 'mediad'} · publish · mediad`;
$('name').textContent = name || '(no stream)';
const watchHref = `/watch/${encodeURIComponent(name)}`;
$('watch-link').href = watchHref;
$('watch-link').textContent = new URL(watchHref, location.href).href;
$('whep-url').value = new URL(whepPath(name), location.href).href;
$('whip-url').value = new URL(whipPath(name), location.href).href;
try { tokenIn.value = params.get('token') || localStorage.getItem(tokenKey) || ''; } catch { /* no storage */ }
if (params.get('source')) sourceSel.value = params.get('source');
if (params.get('width') && params.get('height')) setResolution(+params.get('width'), +params.get('height'));
if (params.get('bitrate')) bitrateIn.value = params.get('bitrate');
const codecParamOK = !params.get('codec') || setCodec(params.get('codec'));

// Selects a video codec choice given as text (auto, h264, H.264, vp8...);
// one it does not know leaves the choice as it is, and returns false.
function setCodec(text) {
  const c = parseVideoCodecChoice(text);
  if (c) codecSel.value = c;
  return c !== null;
}

function setResolution(w, h) {
  const v = `${w}x${h}`;
  if (![...resSel.options].some((o) => o.value === v)) resSel.append(new Option(`${w}×${h}`, v));
  resSel.value = v;
}

function showFields() {
  const src = sourceSel.value;
  $('camera-field').hidden = src !== 'camera';
  $('mic-field').hidden = src === 'clock';
}
sourceSel.addEventListener('change', showFields);
showFields();

// ---- state and messages -------------------------------------------------
function setState(s, detail = '') {
  state = s;
  document.body.dataset.state = s;
  statusEl.dataset.state = s;
  statusEl.textContent = detail ? `${s}: ${detail}` : s;
  const busy = s === 'connecting' || s === 'publishing';
  startBtn.disabled = busy || !name;
  stopBtn.disabled = !busy;
  sourceSel.disabled = resSel.disabled = tokenIn.disabled = codecSel.disabled = busy;
}

function showMessage(text, kind = 'error') {
  const m = $('message');
  m.hidden = !text;
  m.textContent = text || '';
  m.classList.toggle('info', kind === 'info');
}

function fail(err) {
  const message = (err && err.message) || String(err);
  error = { message, status: (err && err.status) || null };
  setState('error', message);
  showMessage(message);
}

// ---- sources --------------------------------------------------------------
function describeMediaError(err, what) {
  switch (err && err.name) {
    case 'NotAllowedError': return `${what}: permission denied`;
    case 'NotFoundError': return `${what}: no such device`;
    case 'NotReadableError': return `${what}: the device is in use or unavailable`;
    case 'OverconstrainedError': return `${what}: the device cannot do ${resSel.value.replace('x', '×')}`;
    default: return `${what}: ${(err && err.message) || err}`;
  }
}

function videoConstraints(o) {
  const c = { width: { ideal: o.width }, height: { ideal: o.height }, frameRate: { ideal: o.fps } };
  if (cameraSel.value) c.deviceId = { exact: cameraSel.value };
  return c;
}

function audioConstraints() {
  return micSel.value ? { deviceId: { exact: micSel.value } } : true;
}

async function getMedia(o) {
  if (o.source === 'clock') return clockStream({ width: o.width, height: o.height, fps: o.fps });
  const md = navigator.mediaDevices;
  if (!md) throw new Error('camera and screen capture need a secure page (https or localhost)');
  const stream = new MediaStream();
  const wantMic = micSel.value !== 'none';
  if (o.source === 'screen') {
    if (!md.getDisplayMedia) throw new Error('this browser cannot capture the screen');
    let screen;
    try {
      screen = await md.getDisplayMedia({
        video: { width: { ideal: o.width, max: o.width }, height: { ideal: o.height, max: o.height }, frameRate: { ideal: o.fps, max: o.fps } },
        audio: false,
      });
    } catch (err) {
      throw new Error(describeMediaError(err, 'screen'));
    }
    const v = screen.getVideoTracks()[0];
    if ('contentHint' in v) v.contentHint = 'detail';
    stream.addTrack(v);
    if (wantMic) {
      try {
        const mic = await md.getUserMedia({ audio: audioConstraints() });
        stream.addTrack(mic.getAudioTracks()[0]);
      } catch (err) {
        showMessage(`${describeMediaError(err, 'microphone')}; publishing without sound`, 'info');
      }
    }
  } else {
    try {
      const cam = await md.getUserMedia({ video: videoConstraints(o), audio: wantMic ? audioConstraints() : false });
      for (const t of cam.getTracks()) stream.addTrack(t);
    } catch (err) {
      throw new Error(describeMediaError(err, wantMic ? 'camera/microphone' : 'camera'));
    }
  }
  return { stream, stop() { for (const t of stream.getTracks()) t.stop(); } };
}

// Device pickers: filled once permission is granted (labels are visible).
async function refreshDevices() {
  const md = navigator.mediaDevices;
  if (!md || !md.enumerateDevices) return;
  let devices;
  try { devices = await md.enumerateDevices(); } catch { return; }
  const current = (kind) => {
    const t = media && media.stream.getTracks().find((x) => x.kind === kind);
    return t && t.getSettings ? t.getSettings().deviceId || '' : '';
  };
  fill(cameraSel, devices.filter((d) => d.kind === 'videoinput'), 'default camera', [], media && sourceSel.value === 'camera' ? current('video') : null);
  fill(micSel, devices.filter((d) => d.kind === 'audioinput'), 'default microphone', [new Option('none', 'none')], media && micSel.value !== 'none' ? current('audio') : null);
}

function fill(sel, devices, defaultLabel, extra, selected) {
  if (!devices.some((d) => d.label)) return; // no permission yet
  const keep = selected != null ? selected : sel.value;
  sel.replaceChildren(new Option(defaultLabel, ''),
    ...devices.filter((d) => d.deviceId && d.deviceId !== 'default').map((d, i) => new Option(d.label || `device ${i + 1}`, d.deviceId)),
    ...extra);
  sel.value = [...sel.options].some((o) => o.value === keep) ? keep : '';
}

// Swaps the camera or microphone while publishing, without renegotiating.
async function switchDevice(kind) {
  if (!client || !media || sourceSel.value === 'clock') return;
  if (kind === 'video' && sourceSel.value !== 'camera') return;
  const o = readForm();
  try {
    let track = null;
    if (kind === 'video') {
      track = (await navigator.mediaDevices.getUserMedia({ video: videoConstraints(o) })).getVideoTracks()[0];
    } else if (micSel.value !== 'none') {
      track = (await navigator.mediaDevices.getUserMedia({ audio: audioConstraints() })).getAudioTracks()[0];
    }
    const old = media.stream.getTracks().find((t) => t.kind === kind);
    await client.replaceTrack(kind, track);
    if (old) { media.stream.removeTrack(old); old.stop(); }
    if (track) media.stream.addTrack(track);
  } catch (err) {
    showMessage(describeMediaError(err, kind === 'video' ? 'camera' : 'microphone'));
  }
}
cameraSel.addEventListener('change', () => switchDevice('video'));
micSel.addEventListener('change', () => switchDevice('audio'));
if (navigator.mediaDevices && navigator.mediaDevices.addEventListener) {
  navigator.mediaDevices.addEventListener('devicechange', refreshDevices);
}
refreshDevices();

bitrateIn.addEventListener('change', () => {
  if (client) client.setMaxBitrate(readForm().maxBitrate);
});

// ---- start / stop -------------------------------------------------------
function readForm() {
  const [width, height] = resSel.value.split('x').map(Number);
  const kbps = Number(bitrateIn.value);
  return {
    source: sourceSel.value,
    token: tokenIn.value.trim(),
    width,
    height,
    fps: Number(params.get('fps')) || 30,
    maxBitrate: kbps > 0 ? Math.round(kbps * 1000) : 0,
    videoCodec: codecSel.value || 'auto',
  };
}

// Puts start() options into the form; maxBitrate is bit/s, or kb/s below 10000.
function applyOptions(opts) {
  if (opts.source) sourceSel.value = opts.source;
  if (opts.token != null) tokenIn.value = String(opts.token);
  if (opts.videoCodec && !setCodec(opts.videoCodec)) {
    throw new Error(`unknown video codec ${opts.videoCodec}: choose auto, h264 or vp8`);
  }
  if (opts.width && opts.height) setResolution(Number(opts.width), Number(opts.height));
  if (opts.maxBitrate != null) {
    const b = Number(opts.maxBitrate);
    bitrateIn.value = String(b < 10000 ? b : Math.round(b / 1000));
  }
  showFields();
}

async function start(opts = {}) {
  if (!name) throw new Error('no stream name in the URL');
  if (client || media) stop();
  const my = ++run;
  try {
    applyOptions(opts);
  } catch (err) {
    fail(err);
    throw err;
  }
  const o = readForm();
  if (opts.fps) o.fps = Number(opts.fps);
  if (!['camera', 'screen', 'clock'].includes(o.source)) {
    const err = new Error(`unknown source ${o.source}`);
    fail(err);
    throw err;
  }
  error = null;
  stats = null;
  showMessage('');
  try { if (o.token) localStorage.setItem(tokenKey, o.token); } catch { /* no storage */ }
  setState('connecting', 'opening the source');
  try {
    const m = await getMedia(o);
    if (my !== run) { m.stop(); throw new Error('stopped'); }
    media = m;
    preview.srcObject = m.stream;
    preview.play().catch(() => {});
    $('placeholder').hidden = true;
    const v = m.stream.getVideoTracks()[0];
    if (v) v.addEventListener('ended', () => { if (my === run) stop(); }); // screen share ended
    refreshDevices();

    const c = new WhipClient(name, { token: o.token });
    client = c;
    c.on('state', ({ state: s, detail }) => {
      if (c !== client) return;
      if (s === 'error') {
        fail(c.error || new Error(detail)); // a refusal on reconnecting
        release();
      } else if (s !== 'stopped') {
        setState(s, detail);
        if (s === 'publishing') showMessage(c.codecNote, 'info');
      }
    });
    await c.start({
      video: m.stream.getVideoTracks()[0] || null,
      audio: m.stream.getAudioTracks()[0] || null,
    }, { maxBitrate: o.maxBitrate, videoCodec: o.videoCodec });
  } catch (err) {
    if (my === run) { // not stopped meanwhile, nor failed by the state handler
      release();
      fail(err);
    }
    throw err;
  }
}

// Ends the session and the source, leaving the state as it is.
function release() {
  run++;
  const c = client;
  client = null;
  if (c) c.stop();
  if (media) media.stop();
  media = null;
  preview.srcObject = null;
  $('placeholder').hidden = false;
}

function stop() {
  release();
  if (state !== 'idle' || error) setState('stopped');
}

$('form').addEventListener('submit', (e) => {
  e.preventDefault();
  start().catch(() => {}); // shown on the page
});
stopBtn.addEventListener('click', () => stop());
addEventListener('pagehide', () => { if (client || media) stop(); });

// ---- stats --------------------------------------------------------------
// {time, width, height, fps, bitrate (bit/s), codec, codecParams,
//  bytesSent, framesEncoded, rtt (s), limitation}
function parseOutbound(report, prev, track) {
  let v = null, pair = null, remoteRtt = null;
  report.forEach((r) => {
    const kind = r.kind || r.mediaType;
    if (r.type === 'outbound-rtp' && kind === 'video') {
      if (!v || (r.bytesSent || 0) > (v.bytesSent || 0)) v = r;
    } else if (r.type === 'transport' && r.selectedCandidatePairId) {
      pair = report.get(r.selectedCandidatePairId) || pair;
    } else if (r.type === 'candidate-pair' && r.selected && !pair) {
      pair = r;
    } else if (r.type === 'remote-inbound-rtp' && kind === 'video' && typeof r.roundTripTime === 'number') {
      remoteRtt = r.roundTripTime;
    }
  });
  if (!pair) {
    report.forEach((r) => {
      if (!pair && r.type === 'candidate-pair' && r.nominated && r.state === 'succeeded') pair = r;
    });
  }
  const codec = v && v.codecId && report.get(v.codecId);
  const settings = track && track.getSettings ? track.getSettings() : {};
  const s = {
    time: performance.now(),
    width: (v && v.frameWidth) || settings.width || null,
    height: (v && v.frameHeight) || settings.height || null,
    fps: v && typeof v.framesPerSecond === 'number' ? v.framesPerSecond : null,
    bitrate: null,
    codec: codec && codec.mimeType ? codec.mimeType.replace(/^video\//i, '') : null,
    codecParams: (codec && codec.sdpFmtpLine) || '',
    bytesSent: (v && v.bytesSent) || 0,
    framesEncoded: (v && v.framesEncoded) || 0,
    rtt: pair && typeof pair.currentRoundTripTime === 'number' ? pair.currentRoundTripTime : remoteRtt,
    limitation: (v && v.qualityLimitationReason) || null,
  };
  const dt = prev ? (s.time - prev.time) / 1000 : 0;
  if (dt > 0) {
    s.bitrate = Math.max(0, ((s.bytesSent - prev.bytesSent) * 8) / dt);
    if (s.fps == null) s.fps = Math.max(0, (s.framesEncoded - prev.framesEncoded) / dt);
  }
  return s;
}

function showStats(s) {
  $('st-res').textContent = s && s.width ? `${s.width}×${s.height}` : '–';
  $('st-fps').textContent = s && s.fps != null ? s.fps.toFixed(1) : '–';
  $('st-br').textContent = s ? formatBitrate(s.bitrate) : '–';
  const c = s ? videoCodec() : null;
  const profile = c && /profile-level-id=([0-9a-f]+)/i.exec(c.fmtp);
  $('st-codec').textContent = c ? `${c.name}${profile ? ` ${profile[1]}` : ''}` : '–';
  $('st-rtt').textContent = s && s.rtt != null ? `${Math.round(s.rtt * 1000)} ms` : '–';
  $('st-sent').textContent = s && s.bytesSent ? `${(s.bytesSent / 1e6).toFixed(1)} MB` : '–';
  $('st-limit').textContent = (s && s.limitation) || '–';
}

// The video codec in use: {name, fmtp} as the sender's stats say, or as the
// answer settled on before any stats; null when not publishing.
function videoCodec() {
  if (stats && stats.codec) return { name: stats.codec, fmtp: stats.codecParams };
  return (client && client.negotiated && client.negotiated.video) || null;
}

async function poll() {
  const pc = client && client.pc;
  if (!pc) {
    if (stats) { stats = null; showStats(null); }
    return;
  }
  let report;
  try { report = await pc.getStats(); } catch { return; }
  if (!client || client.pc !== pc) return;
  const track = media && media.stream.getVideoTracks()[0];
  stats = parseOutbound(report, stats, track);
  showStats(stats);
}
setInterval(poll, 1000);

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

// ---- test hooks ---------------------------------------------------------
window.mediadPublish = {
  get pc() { return client ? client.pc : null; },
  get state() { return state; },
  get error() { return error ? error.message : null; },
  get errorStatus() { return error ? error.status : null; },
  get stats() { return stats; },
  // The video codec negotiated ('VP8', 'H264'...) and the one asked for (auto, h264, vp8).
  get codec() { const c = videoCodec(); return c ? c.name : null; },
  get codecChoice() { return codecSel.value; },
  get sessionURL() { return client ? client.sessionURL : null; },
  get client() { return client; },
  start,
  stop,
};

setState('idle');
if (!name) {
  setState('error', 'no stream name in the URL');
  showMessage('No stream name: open /publish/NAME.');
} else if (!codecParamOK) {
  fail(new Error(`unknown video codec ${params.get('codec')} in the URL: choose auto, h264 or vp8`));
} else if (params.get('autostart') === '1') {
  start().catch(() => {}); // shown on the page and in mediadPublish.error
}
