// whep.js — a small receive-only WHEP client for mediad.
//
// new WhepPlayer(video, name, {rung, events, token, codec}) plays stream `name` into
// `video`, reconnecting with back-off, polling pc.getStats() once a second
// and talking to the server over the "control" data channel. With
// events: true it also opens an "events" data channel, on which the server
// sends the stream's events (scene_cut, black, frozen, ...) as JSON.
// token is the viewer token, sent as "Authorization: Bearer" on the WHEP
// POST and DELETE; a 401 stops the retries in state 'unauthorized' until
// setToken() gives another.
//
// Events (player.on(type, fn)):
//   state  {state, detail}   state: idle|connecting|playing|offline|error|unauthorized|closed
//   rung   {rung, reason}    the rung the server now sends
//   stats  stats object      see parseStats()
//   event  parsed JSON       a stream event (only with events: true)
//   server player.server     after each rung, stats or audio_only message
//
// player.server is what the server says about this viewer's adaptation:
//   {estimate, smoothed (bps, null until known), state (controller state:
//    stable|congested|holding|probing|audio-only|manual, '' until known),
//    rung, reason, audioOnly, audioOnlyReason,
//    switches: [{t (Unix s, this clock), from, to, reason}, ...] newest
//    last, at most MAX_SWITCHES; kept across reconnects}

import { parseStats, formatBitrate, formatDuration } from './stats.js';
import { bearer, deleteSession, waitForGathering, waitForNewGathering, httpError } from './signal.js';

export { parseStats, formatBitrate, formatDuration, waitForGathering, waitForNewGathering, httpError };

const GATHER_TIMEOUT_MS = 2000;
const DISCONNECT_GRACE_MS = 4000;
const BACKOFF_MIN_MS = 1000;
const BACKOFF_MAX_MS = 15000;
const MAX_SWITCHES = 100;
// Cluster failover: a player whose server belongs to a cluster (it answers
// /api/v1/cluster/nodes) moves to another node when its node stops
// answering or its video stalls with no word from the server.
const NODES_PATH = '/api/v1/cluster/nodes';
const STALL_MS = 1500;
const FAILOVER_MS = 100;

/** Path of the WHEP endpoint for a stream, with an optional rung. */
export function whepPath(name, rung = '') {
  let p = `/whep/${encodeURIComponent(name)}`;
  if (rung) p += `?rung=${encodeURIComponent(rung)}`;
  return p;
}

/**
 * Offers only `codec` ('vp8', 'h264') for the video of transceiver `t`, with
 * its retransmission format, where the browser can say so
 * (setCodecPreferences); elsewhere the browser offers what it has.
 */
export function onlyCodec(t, codec) {
  if (!t.setCodecPreferences || typeof RTCRtpReceiver === 'undefined' || !RTCRtpReceiver.getCapabilities) return false;
  const caps = RTCRtpReceiver.getCapabilities('video');
  if (!caps) return false;
  const want = `video/${codec}`.toLowerCase();
  const keep = caps.codecs.filter((c) => c.mimeType.toLowerCase() === want);
  if (keep.length === 0) return false;
  const rtx = caps.codecs.filter((c) => c.mimeType.toLowerCase() === 'video/rtx');
  try {
    t.setCodecPreferences([...keep, ...rtx]);
  } catch {
    t.setCodecPreferences(keep);
  }
  return true;
}

export class WhepPlayer {
  constructor(video, name, { rung = '', iceServers = [], events = false, token = '', codec = '' } = {}) {
    this.video = video;
    this.name = name;
    this.token = token || '';
    this.iceServers = iceServers;
    this.events = !!events;               // open the "events" data channel
    this.requestedRung = normRung(rung); // '' = auto
    this.codec = String(codec || '').toLowerCase(); // '' = what the browser offers; 'vp8', 'h264' = that only
    this.rung = '';                       // rung the server says it sends
    this.rungReason = '';
    this.state = 'idle';
    this.detail = '';
    this.pc = null;
    this.dc = null;
    this.eventsDC = null;
    this.sessionURL = null;
    this.stats = null;
    this.server = {
      estimate: null, smoothed: null, state: '', rung: '', reason: '',
      audioOnly: false, audioOnlyReason: '', switches: [],
    };
    this.retryAt = 0;
    this._listeners = {};
    this._gen = 0;
    this._running = false;
    this._offline = false;
    this._postedRung = '';
    this._backoff = BACKOFF_MIN_MS;
    this._prev = null;
    this.base = '';   // the node played from: '' is the page's own
    this.nodes = [];  // the cluster's nodes' URLs, from NODES_PATH once playing
  }

  /** Absolute WHEP URL of the stream (without rung). */
  get url() {
    return new URL(whepPath(this.name), this.base || location.href).href;
  }

  /** Learns the cluster's nodes (none: not a cluster, or no answer). */
  async _loadNodes() {
    try {
      // ?stream= lets a token that may play this stream only list the nodes.
      const u = new URL(NODES_PATH, this.base || location.href);
      u.searchParams.set('stream', this.name);
      const res = await fetch(u, { headers: bearer(this.token), cache: 'no-store' });
      if (!res.ok) return;
      const body = await res.json();
      const urls = (body.nodes || []).map((n) => String(n.url || '')).filter((u) => /^https?:\/\//.test(u));
      if (urls.length) this.nodes = urls;
    } catch { /* keep what we knew */ }
  }

  /** Moves to the next node of the cluster; false when there is none. */
  _nextNode() {
    const here = new URL(this.base || location.href).origin;
    const others = this.nodes.filter((u) => new URL(u).origin !== here);
    if (!others.length) return false;
    const i = Math.floor(Math.random() * others.length);
    this.base = others[i].replace(/\/+$/, '');
    return true;
  }

  on(type, fn) {
    (this._listeners[type] ||= []).push(fn);
    return this;
  }

  _emit(type, arg) {
    for (const fn of this._listeners[type] || []) {
      try { fn(arg); } catch (e) { console.error(e); }
    }
  }

  _setState(state, detail = '') {
    if (state === this.state && detail === this.detail) return;
    this.state = state;
    this.detail = detail;
    this._emit('state', { state, detail });
  }

  start() {
    if (this._running) return;
    this._running = true;
    this._backoff = BACKOFF_MIN_MS;
    this._statsTimer = setInterval(() => this._poll(), 500);
    this._connect();
  }

  /** Ends the session (DELETE with keepalive, so it is safe on pagehide). */
  stop() {
    this._running = false;
    clearTimeout(this._retryTimer);
    clearInterval(this._statsTimer);
    this._teardown();
    this._setState('closed');
  }

  /** Sets the viewer token; after a 401 it connects again with it. */
  setToken(token) {
    this.token = token || '';
    if (this._running && this.state === 'unauthorized') this._connect();
  }

  /** Chooses a rung by name; '' or 'auto' for automatic. */
  setRung(name) {
    this.requestedRung = normRung(name);
    if (this._send({ type: 'rung', rung: this.requestedRung })) return true;
    // No control channel: once a session is up, start a new one with ?rung=.
    // While connecting, the POST or the channel's open handler picks it up.
    if (this.pc && (this.state === 'playing' || this.state === 'offline')) {
      this._teardown();
      this._connect();
    }
    return false;
  }

  _send(msg) {
    const dc = this.dc;
    if (!dc || dc.readyState !== 'open') return false;
    try {
      dc.send(JSON.stringify(msg));
      return true;
    } catch {
      return false;
    }
  }

  async _connect() {
    this._teardown();
    clearTimeout(this._retryTimer);
    const gen = this._gen;
    this._offline = false;
    this._resetServer();
    this._setState('connecting');

    let pc;
    try {
      pc = new RTCPeerConnection({ iceServers: this.iceServers });
    } catch (err) {
      this._fail(err);
      return;
    }
    this.pc = pc;
    const media = new MediaStream();
    pc.ontrack = (ev) => {
      media.addTrack(ev.track);
      if (this.video.srcObject !== media) this.video.srcObject = media;
      const p = this.video.play();
      if (p) p.catch(() => {});
    };
    const vt = pc.addTransceiver('video', { direction: 'recvonly' });
    if (this.codec) onlyCodec(vt, this.codec);
    pc.addTransceiver('audio', { direction: 'recvonly' });
    const dc = pc.createDataChannel('control');
    this.dc = dc;
    dc.onmessage = (ev) => { if (gen === this._gen) this._onControl(ev.data); };
    dc.onopen = () => {
      if (gen === this._gen && this.requestedRung !== this._postedRung) {
        this._send({ type: 'rung', rung: this.requestedRung });
      }
    };
    if (this.events) {
      // Created before the offer, so it rides in the same SCTP association.
      const edc = pc.createDataChannel('events');
      this.eventsDC = edc;
      edc.onmessage = (ev) => { if (gen === this._gen) this._onEvent(ev.data); };
    }
    pc.onconnectionstatechange = pc.oniceconnectionstatechange = () => {
      if (gen === this._gen) this._onConnState();
    };

    try {
      await pc.setLocalDescription(await pc.createOffer());
      await waitForGathering(pc, GATHER_TIMEOUT_MS);
      if (gen !== this._gen) return;
      const rung = this.requestedRung;
      const res = await fetch(this.base ? this.base + whepPath(this.name, rung) : whepPath(this.name, rung), {
        method: 'POST',
        headers: bearer(this.token, { 'Content-Type': 'application/sdp' }),
        body: pc.localDescription.sdp,
        cache: 'no-store',
      });
      if (!res.ok) throw await httpError(res);
      const loc = res.headers.get('Location');
      const sessionURL = loc ? new URL(loc, res.url || location.href).href : null;
      if (gen !== this._gen) {
        deleteSession(sessionURL, this.token);
        return;
      }
      this.sessionURL = sessionURL;
      this._postedRung = rung;
      const sdp = await res.text();
      if (gen !== this._gen) return;
      await pc.setRemoteDescription({ type: 'answer', sdp });
    } catch (err) {
      if (gen === this._gen) this._fail(err);
    }
  }

  _onConnState() {
    const pc = this.pc;
    const s = pc.connectionState || pc.iceConnectionState;
    if (s === 'connected' || s === 'completed') {
      clearTimeout(this._discTimer);
      this._discTimer = null;
      this._backoff = BACKOFF_MIN_MS;
      this._frames = -1;
      this._loadNodes();
      if (this._offline) this._setState('offline', 'publisher went away');
      else this._setState('playing');
    } else if (s === 'disconnected') {
      if (!this._discTimer) {
        this._discTimer = setTimeout(() => {
          this._discTimer = null;
          if (this.pc === pc) this._fail(new Error('connection lost'));
        }, DISCONNECT_GRACE_MS);
      }
    } else if (s === 'failed' || s === 'closed') {
      this._fail(new Error(`connection ${s}`));
    }
  }

  _onControl(data) {
    let msg;
    try { msg = JSON.parse(data); } catch { return; }
    if (!msg || typeof msg !== 'object') return;
    switch (msg.type) {
      case 'rung': {
        const from = this.rung;
        this.rung = String(msg.rung || '');
        this.rungReason = String(msg.reason || '');
        const sv = this.server;
        sv.rung = this.rung;
        sv.reason = this.rungReason;
        sv.switches.push({ t: Date.now() / 1000, from, to: this.rung, reason: this.rungReason });
        if (sv.switches.length > MAX_SWITCHES) sv.switches.splice(0, sv.switches.length - MAX_SWITCHES);
        this._emit('rung', { rung: this.rung, reason: this.rungReason });
        this._emit('server', sv);
        break;
      }
      case 'stats': {
        // Fields are left out when zero.
        const sv = this.server;
        sv.estimate = finiteOr(msg.estimate, 0);
        sv.smoothed = finiteOr(msg.smoothed, 0);
        sv.state = String(msg.state || '');
        if (msg.rung) sv.rung = String(msg.rung);
        this._emit('server', sv);
        break;
      }
      case 'audio_only': {
        // rung carries "true" or "false".
        const sv = this.server;
        sv.audioOnly = msg.rung === true || msg.rung === 'true';
        sv.audioOnlyReason = String(msg.reason || '');
        this._emit('server', sv);
        break;
      }
      case 'offline':
        this._offline = true;
        this._setState('offline', 'publisher went away');
        break;
      case 'ended': {
        // The publisher did not come back within the grace period: the
        // server lets this session go; wait for the stream like after a 409.
        const err = new Error('stream ended');
        err.status = 409;
        err.retryAfter = 2;
        this._fail(err);
        break;
      }
      case 'live':
        this._offline = false;
        if (this.state === 'offline') this._setState('playing');
        break;
      default: // unknown types are ignored
    }
  }

  _resetServer() {
    const sv = this.server;
    sv.estimate = sv.smoothed = null;
    sv.state = sv.rung = sv.reason = sv.audioOnlyReason = '';
    sv.audioOnly = false;
    this._emit('server', sv);
  }

  _onEvent(data) {
    let msg;
    try { msg = JSON.parse(data); } catch { return; }
    if (!msg || typeof msg !== 'object' || Array.isArray(msg)) return;
    this._emit('event', msg);
  }

  _fail(err) {
    if (!this._running) return;
    this._teardown();
    let delay = this._backoff;
    this._backoff = Math.min(this._backoff * 2, BACKOFF_MAX_MS);
    let state = 'error';
    let reason = err && err.message ? err.message : String(err);
    // A node that stops answering, or whose video stalls with no word
    // from it, is left for another node of the cluster, at once.
    const gone = err && (err.failover || err.status === 502 || err.status === 503 || err.status === 504 ||
      err instanceof TypeError || /connection (lost|failed)/.test(reason));
    if (gone && this._nextNode()) {
      delay = Math.min(delay, FAILOVER_MS * 2 ** Math.min(4, this._failovers || 0));
      this._failovers = (this._failovers || 0) + 1;
      reason = `${reason}; moving to ${this.base}`;
    }
    if (err && err.status === 401) {
      // Retrying cannot help: wait for setToken().
      this._setState('unauthorized', this.token ? 'the viewer token was refused' : 'a viewer token is needed');
      return;
    }
    if (err && err.status === 409) {
      state = 'offline';
      reason = 'stream is offline';
      if (err.retryAfter != null) delay = clamp(err.retryAfter * 1000, 500, 30000);
    } else if (err && err.status === 404) {
      reason = 'stream not found';
      delay = Math.max(delay, 5000);
    } else if (err instanceof TypeError && /fetch|network/i.test(reason)) {
      reason = 'server unreachable';
    }
    this.retryAt = Date.now() + delay;
    this._setState(state, `${reason}; retrying in ${Math.ceil(delay / 1000)} s`);
    this._retryTimer = setTimeout(() => {
      if (this._running) this._connect();
    }, delay);
  }

  _teardown() {
    this._gen++;
    clearTimeout(this._discTimer);
    this._discTimer = null;
    const { pc, dc, eventsDC, sessionURL } = this;
    this.pc = null;
    this.dc = null;
    this.eventsDC = null;
    this.sessionURL = null;
    this._prev = null;
    if (dc) dc.onmessage = dc.onopen = null;
    if (eventsDC) eventsDC.onmessage = null;
    if (pc) {
      pc.ontrack = pc.onconnectionstatechange = pc.oniceconnectionstatechange = null;
      try { pc.close(); } catch { /* already closed */ }
    }
    deleteSession(sessionURL, this.token);
  }

  async _poll() {
    const pc = this.pc;
    if (!pc) return;
    // Every second; twice a second in a cluster, to notice a dead node.
    this._ticks = (this._ticks || 0) + 1;
    if (!this.nodes.length && this._ticks % 2) return;
    let report;
    try { report = await pc.getStats(); } catch { return; }
    if (pc !== this.pc) return;
    const s = parseStats(report, this._prev, this.video);
    this._prev = s;
    this.stats = s;
    this._emit('stats', s);
    this._checkStall(s);
  }

  /** Fails over when no frame was decoded for STALL_MS while playing. */
  _checkStall(s) {
    const now = Date.now();
    if (this.state !== 'playing' || this._offline || s.framesDecoded !== this._frames) {
      this._frames = s.framesDecoded;
      this._framesAt = now;
      if (this.state === 'playing' && s.framesDecoded > 0) this._failovers = 0;
      return;
    }
    if (this.nodes.length > 1 && s.framesDecoded > 0 && now - this._framesAt > STALL_MS && !this._probing) {
      // The stream may only be waiting for its publisher (the node says
      // so): move only when the node itself does not answer.
      this._probing = true;
      const pc = this.pc;
      fetch(new URL('/healthz', this.base || location.href), { cache: 'no-store', signal: AbortSignal.timeout(700) })
        .then((res) => { if (!res.ok) throw new Error(`healthz ${res.status}`); this._framesAt = Date.now(); })
        .catch(() => {
          if (pc !== this.pc) return;
          const err = new Error('node not answering');
          err.failover = true;
          this._fail(err);
        })
        .finally(() => { this._probing = false; });
    }
  }
}

function normRung(name) {
  name = name == null ? '' : String(name);
  return name === 'auto' ? '' : name;
}

function finiteOr(x, dflt) {
  const n = Number(x);
  return x != null && isFinite(n) ? n : dflt;
}

function clamp(x, lo, hi) {
  return Math.min(hi, Math.max(lo, x));
}
