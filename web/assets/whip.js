// whip.js — a send-only WHIP client (RFC 9725) for mediad.
//
// const c = new WhipClient(name, {token});
// await c.start({video, audio}, {maxBitrate, videoCodec});  // resolves once media flows
// c.stop();                                                  // DELETE, close
//
// videoCodec 'auto' (the default) prefers H.264 (constrained baseline
// first) so the server can forward the video as it is, and lets the others
// follow; 'h264' or 'vp8' offers only that codec, where the browser has it
// and RTCRtpTransceiver.setCodecPreferences (otherwise the browser's own
// order goes out, and c.codecNote says why). c.negotiated holds the codecs
// the answer settled on. Opus for audio. When the connection fails, or stays
// disconnected for 3 s, the client restarts ICE with a PATCH (new
// credentials and candidates as an sdpfrag, If-Match with the ETag); if that
// fails it publishes afresh with a new POST, with back-off.
//
// Events (c.on(type, fn)):  state {state, detail}  connecting|publishing|error|stopped
import { waitForGathering, waitForNewGathering, httpError } from '/assets/whep.js';
import {
  buildSdpFrag, parseSdpFrag, applySdpFrag, preferOpus, videoCodecsFor, parseVideoCodecChoice, answeredCodec,
} from '/assets/sdp.js';

const GATHER_TIMEOUT_MS = 2000;
const CONNECT_TIMEOUT_MS = 15000;
const DISCONNECT_GRACE_MS = 3000;
const BACKOFF_MIN_MS = 1000;
const BACKOFF_MAX_MS = 15000;
// Refusals a new attempt will not fix.
const FATAL = new Set([400, 401, 403, 404, 405, 413, 415, 422]);

/** Path of the WHIP endpoint of a stream. */
export function whipPath(name) {
  return `/whip/${encodeURIComponent(name)}`;
}

export class WhipClient {
  constructor(name, { token = '', iceServers = [] } = {}) {
    this.name = name;
    this.token = token;
    this.iceServers = iceServers;
    this.state = 'idle';
    this.detail = '';
    this.error = null;       // the last Error, with .status for HTTP refusals
    this.pc = null;
    this.sessionURL = null;
    this.etag = null;
    this.answer = null;      // the remote description in force
    this.tracks = { video: null, audio: null };
    this.maxBitrate = 0;
    this.videoCodec = 'auto'; // the choice: auto, h264 or vp8
    this.codecNote = '';      // why the choice could not be applied, if so
    this.negotiated = null;   // {video, audio}: {name, fmtp} from the answer, or null
    this._listeners = {};
    this._running = false;
    this._gen = 0;
    this._backoff = BACKOFF_MIN_MS;
  }

  get url() {
    return new URL(whipPath(this.name), location.href).href;
  }

  on(type, fn) {
    (this._listeners[type] ||= []).push(fn);
    return this;
  }

  _setState(state, detail = '') {
    if (state === this.state && detail === this.detail) return;
    this.state = state;
    this.detail = detail;
    for (const fn of this._listeners.state || []) {
      try { fn({ state, detail }); } catch (e) { console.error(e); }
    }
  }

  _headers(extra = {}) {
    const h = { ...extra };
    if (this.token) h.Authorization = `Bearer ${this.token}`;
    return h;
  }

  /**
   * Publishes tracks {video, audio} (either may be null). Resolves when the
   * connection is up; rejects with the error (state 'error') otherwise.
   */
  async start(tracks, { maxBitrate = 0, videoCodec = 'auto' } = {}) {
    if (this._running) throw new Error('already started');
    const choice = parseVideoCodecChoice(videoCodec);
    if (choice === null) throw new Error(`unknown video codec ${videoCodec} (auto, h264 or vp8)`);
    this._running = true;
    this.tracks = { video: tracks.video || null, audio: tracks.audio || null };
    this.maxBitrate = maxBitrate;
    this.videoCodec = choice;
    this.error = null;
    try {
      await this._publish();
    } catch (err) {
      if (this._running) this._fail(err);
      throw err;
    }
  }

  /** Ends the session: DELETE (keepalive, so it works on pagehide) and close. */
  stop() {
    this._running = false;
    clearTimeout(this._retryTimer);
    this._teardown();
    this._setState('stopped');
  }

  /** Caps the video bitrate (bit/s, 0 = no cap) now and for later connections. */
  async setMaxBitrate(bps) {
    this.maxBitrate = bps;
    const sender = this._sender('video');
    if (!sender) return;
    const p = sender.getParameters();
    if (!p.encodings || !p.encodings.length) p.encodings = [{}];
    if (bps > 0) p.encodings[0].maxBitrate = bps;
    else delete p.encodings[0].maxBitrate;
    try {
      await sender.setParameters(p);
    } catch (err) {
      console.warn('setParameters:', err);
    }
  }

  /** Swaps the track of one kind ('video' or 'audio'; null for none) without renegotiating. */
  async replaceTrack(kind, track) {
    this.tracks[kind] = track || null;
    const sender = this._sender(kind);
    if (sender) await sender.replaceTrack(track || null);
  }

  _sender(kind) {
    const t = this.pc && this._transceivers && this._transceivers[kind];
    return t ? t.sender : null;
  }

  // One POST: a new peer connection, the offer, the answer; resolves when connected.
  async _publish() {
    this._teardown();
    const gen = this._gen;
    this._setState('connecting');
    const pc = new RTCPeerConnection({ iceServers: this.iceServers, bundlePolicy: 'max-bundle' });
    this.pc = pc;
    this.codecNote = '';
    const note = (n) => { if (n) this.codecNote = n; };
    this._transceivers = {
      video: addSender(pc, 'video', this.tracks.video, this.maxBitrate, this.videoCodec, note),
      audio: addSender(pc, 'audio', this.tracks.audio, 0, 'auto', note),
    };
    pc.onconnectionstatechange = pc.oniceconnectionstatechange = () => {
      if (this.pc === pc) this._onConnState(pc);
    };

    await pc.setLocalDescription(await pc.createOffer());
    await waitForGathering(pc, GATHER_TIMEOUT_MS);
    this._check(gen);
    let res;
    try {
      res = await fetch(this.url, {
        method: 'POST',
        headers: this._headers({ 'Content-Type': 'application/sdp' }),
        body: pc.localDescription.sdp,
        cache: 'no-store',
      });
    } catch (err) {
      throw friendly(err);
    }
    if (!res.ok) throw friendly(await httpError(res));
    const loc = res.headers.get('Location');
    const sessionURL = loc ? new URL(loc, res.url || this.url).href : null;
    const etag = res.headers.get('ETag');
    const sdp = await res.text();
    if (gen !== this._gen) {
      this._delete(sessionURL);
      this._check(gen);
    }
    this.sessionURL = sessionURL;
    this.etag = etag;
    await pc.setRemoteDescription({ type: 'answer', sdp });
    this.answer = sdp;
    this.negotiated = { video: answeredCodec(sdp, 'video'), audio: answeredCodec(sdp, 'audio') };
    if (this.maxBitrate) await this.setMaxBitrate(this.maxBitrate);
    await waitConnected(pc, CONNECT_TIMEOUT_MS);
    this._check(gen);
    this._backoff = BACKOFF_MIN_MS;
    this._setState('publishing');
  }

  _check(gen) {
    if (gen !== this._gen || !this._running) throw new Error('stopped');
  }

  _onConnState(pc) {
    const s = pc.connectionState || pc.iceConnectionState;
    if (s === 'connected' || s === 'completed') {
      clearTimeout(this._discTimer);
      this._discTimer = null;
      pc._wasConnected = true;
      if (this._running && !this._restarting && this.state !== 'publishing' && this.answer) {
        this._setState('publishing');
      }
      return;
    }
    if (!pc._wasConnected || this._restarting || !this._running) return;
    if (s === 'disconnected') {
      if (!this._discTimer) {
        this._discTimer = setTimeout(() => {
          this._discTimer = null;
          if (this.pc === pc) this._restartIce();
        }, DISCONNECT_GRACE_MS);
      }
    } else if (s === 'failed') {
      clearTimeout(this._discTimer);
      this._discTimer = null;
      this._restartIce();
    }
  }

  // ICE restart over PATCH; on any failure, a fresh POST.
  async _restartIce() {
    const pc = this.pc;
    const gen = this._gen;
    if (!pc || this._restarting) return;
    this._restarting = true;
    this._setState('connecting', 'connection lost; restarting ICE');
    try {
      if (!this.sessionURL || !this.answer) throw new Error('no session to restart');
      if (pc.restartIce) pc.restartIce();
      const gathered = waitForNewGathering(pc, GATHER_TIMEOUT_MS);
      await pc.setLocalDescription(await pc.createOffer({ iceRestart: true }));
      await gathered;
      this._check(gen);
      const res = await fetch(this.sessionURL, {
        method: 'PATCH',
        headers: this._headers({
          'Content-Type': 'application/trickle-ice-sdpfrag',
          'If-Match': this.etag || '*',
        }),
        body: buildSdpFrag(pc.localDescription.sdp, { complete: pc.iceGatheringState === 'complete' }),
        cache: 'no-store',
      });
      if (res.status !== 200) throw await httpError(res);
      const etag = res.headers.get('ETag');
      const frag = parseSdpFrag(await res.text());
      this._check(gen);
      if (!frag.ufrag || !frag.pwd) throw new Error('ICE restart answer without credentials');
      const sdp = applySdpFrag(this.answer, frag);
      await pc.setRemoteDescription({ type: 'answer', sdp });
      this.answer = sdp;
      if (etag) this.etag = etag;
      await waitConnected(pc, CONNECT_TIMEOUT_MS);
      this._check(gen);
      this._restarting = false;
      this._setState('publishing');
    } catch (err) {
      this._restarting = false;
      if (gen !== this._gen || !this._running) return;
      console.warn('WHIP ICE restart failed, publishing afresh:', err);
      this._republish(err);
    }
  }

  // Fresh POSTs with back-off until one works, a refusal is final, or stop().
  async _republish(why) {
    clearTimeout(this._retryTimer);
    const old = this.sessionURL;
    this.sessionURL = null;
    this._teardown();
    await this._delete(old); // before the new POST, so the stream is free
    while (this._running) {
      this._setState('connecting', `reconnecting (${why && why.message ? why.message : why})`);
      try {
        await this._publish();
        return;
      } catch (err) {
        if (!this._running || err.message === 'stopped') return;
        if (err.status && FATAL.has(err.status)) {
          this._fail(err);
          return;
        }
        why = err;
        let delay = this._backoff;
        if (err.retryAfter != null) delay = Math.min(60000, Math.max(delay, err.retryAfter * 1000));
        this._backoff = Math.min(this._backoff * 2, BACKOFF_MAX_MS);
        this._teardown();
        this._setState('connecting', `${err.message}; retrying in ${Math.ceil(delay / 1000)} s`);
        await new Promise((r) => { this._retryTimer = setTimeout(r, delay); });
      }
    }
  }

  _fail(err) {
    this.error = err;
    this._running = false;
    this._teardown();
    this._setState('error', err && err.message ? err.message : String(err));
  }

  _teardown() {
    this._gen++;
    clearTimeout(this._discTimer);
    this._discTimer = null;
    this._restarting = false;
    const { pc, sessionURL } = this;
    this.pc = null;
    this.sessionURL = null;
    this.etag = null;
    this.answer = null;
    this.negotiated = null;
    this._transceivers = null;
    if (pc) {
      pc.onconnectionstatechange = pc.oniceconnectionstatechange = null;
      try { pc.close(); } catch { /* already closed */ }
    }
    this._delete(sessionURL);
  }

  _delete(url) {
    if (!url) return Promise.resolve();
    return fetch(url, { method: 'DELETE', headers: this._headers(), keepalive: true })
      .catch(() => {});
  }
}

// A send-only transceiver for a track (or an empty one, to keep the
// m-line), offering its codecs in the order of choice (video: auto, h264 or
// vp8). When the choice cannot be applied it goes on with what the browser
// offers, and tells note why.
function addSender(pc, kind, track, maxBitrate, choice, note) {
  const init = { direction: 'sendonly' };
  if (track) init.streams = [new MediaStream([track])];
  if (maxBitrate > 0) init.sendEncodings = [{ maxBitrate }];
  const t = pc.addTransceiver(track || kind, init);
  const named = kind === 'video' && choice !== 'auto' ? choice.toUpperCase().replace('H264', 'H.264') : '';
  try {
    const caps = (RTCRtpReceiver.getCapabilities && RTCRtpReceiver.getCapabilities(kind)) ||
      (RTCRtpSender.getCapabilities && RTCRtpSender.getCapabilities(kind));
    if (!caps || !caps.codecs || !t.setCodecPreferences) {
      if (named) note(`this browser cannot choose codecs; it sends what it prefers instead of ${named}`);
      return t;
    }
    let codecs = kind === 'video' ? videoCodecsFor(caps.codecs, choice) : preferOpus(caps.codecs);
    if (!codecs) {
      note(`this browser cannot send ${named}; codec left to it and the server`);
      codecs = videoCodecsFor(caps.codecs, 'auto');
    }
    t.setCodecPreferences(codecs);
  } catch (err) {
    console.warn(`setCodecPreferences(${kind}):`, err);
    if (named) note(`could not choose ${named} (${err.message || err})`);
  }
  return t;
}

function waitConnected(pc, timeoutMs) {
  return new Promise((resolve, reject) => {
    const done = (err) => {
      clearTimeout(timer);
      pc.removeEventListener('connectionstatechange', check);
      pc.removeEventListener('iceconnectionstatechange', check);
      if (err) reject(err); else resolve();
    };
    const check = () => {
      const s = pc.connectionState || pc.iceConnectionState;
      if (s === 'connected' || s === 'completed') done();
      else if (s === 'failed' || s === 'closed') done(new Error(`connection ${s}`));
    };
    const timer = setTimeout(() => done(new Error('could not connect to the server (ICE timed out)')), timeoutMs);
    pc.addEventListener('connectionstatechange', check);
    pc.addEventListener('iceconnectionstatechange', check);
    check();
  });
}

// Gives HTTP refusals and network errors a message a person can act on.
function friendly(err) {
  const text = err.message || '';
  const ra = err.retryAfter != null ? `; retry in ${err.retryAfter} s` : '';
  let msg;
  switch (err.status) {
    case undefined:
      msg = err instanceof TypeError ? `server unreachable (${text})` : text;
      break;
    case 401:
    case 403:
      msg = `wrong or missing token (${err.status}: ${text})`;
      break;
    case 404:
      msg = `no WHIP endpoint for this stream (404: ${text})`;
      break;
    case 409:
      msg = `stream busy, is it already being published? (409: ${text})${ra}`;
      break;
    case 422:
      msg = `the server cannot take these codecs (422: ${text})`;
      break;
    case 429:
      msg = `too many attempts (429: ${text})${ra}`;
      break;
    case 503:
      msg = `server busy (503: ${text})${ra}`;
      break;
    default:
      msg = `HTTP ${err.status}: ${text}${ra}`;
  }
  const e = new Error(msg);
  e.status = err.status;
  e.retryAfter = err.retryAfter;
  e.body = text;
  return e;
}
