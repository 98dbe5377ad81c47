// latency.js — glass-to-glass latency from the clock test source.
//
// new LatencyMeter(video) reads the block code (stampcode.js) from every
// frame the video shows and records latency = display time - stamp, in ms.
// Publisher and viewer clocks must agree (same machine, or NTP).
import { decodeStamp, codeGeometry, BLOCKS } from '/assets/stampcode.js';

const SAMPLE_WIDTH = 320;   // frames are read at this width
const MARGIN = 40;          // a block's grey level must be this far from 128
const MAX_ABS_MS = 300000;  // stamps further than 5 min from now are noise

export class LatencyMeter {
  constructor(video, { onsample = null } = {}) {
    this.video = video;
    this.onsample = onsample;  // fn(latencyMs) after each sample
    this.samples = [];         // latencies in ms, in arrival order
    this.failed = 0;           // frames without a readable code
    this.last = null;          // latest latency in ms
    this._lastStamp = null;
    this._canvas = document.createElement('canvas');
    this._ctx = this._canvas.getContext('2d', { willReadFrequently: true });
    this._running = false;
    this._rvfc = typeof video.requestVideoFrameCallback === 'function';
    this.start();
  }

  start() {
    if (this._running) return;
    this._running = true;
    this._schedule();
  }

  stop() {
    this._running = false;
    if (this._handle != null) {
      if (this._rvfc) this.video.cancelVideoFrameCallback(this._handle);
      else cancelAnimationFrame(this._handle);
    }
    this._handle = null;
  }

  reset() {
    this.samples = [];
    this.failed = 0;
    this.last = null;
    this._lastStamp = null;
  }

  /** {count, failed, p50, p95, min, max, last}; the ms values are null without samples. */
  summary() {
    const s = this.samples.slice().sort((a, b) => a - b);
    const pct = (p) => (s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] : null);
    return {
      count: s.length,
      failed: this.failed,
      p50: pct(50),
      p95: pct(95),
      min: s.length ? s[0] : null,
      max: s.length ? s[s.length - 1] : null,
      last: this.last,
    };
  }

  _schedule() {
    if (!this._running) return;
    if (this._rvfc) {
      this._handle = this.video.requestVideoFrameCallback((now, meta) => this._onFrame(meta));
    } else {
      this._handle = requestAnimationFrame(() => this._onFrame(null));
    }
  }

  _onFrame(meta) {
    this._handle = null;
    try {
      // Display time in epoch ms. expectedDisplayTime is on the
      // performance.now() clock; map it with the current offset between the
      // two clocks (steadier than performance.timeOrigin, which drifts from
      // Date.now() in long-lived pages).
      const shown = meta && typeof meta.expectedDisplayTime === 'number'
        ? Date.now() - performance.now() + meta.expectedDisplayTime
        : Date.now();
      const stamp = this.read();
      if (stamp === undefined) {
        // no picture yet: neither a sample nor a failure
      } else if (stamp === null || Math.abs(shown - stamp) > MAX_ABS_MS) {
        this.failed++;
      } else if (stamp !== this._lastStamp) {
        this._lastStamp = stamp;
        const ms = Math.round(shown - stamp);
        this.samples.push(ms);
        this.last = ms;
        if (this.onsample) this.onsample(ms);
      }
    } catch (err) {
      this.failed++;
      console.warn('latency meter:', err);
    }
    this._schedule();
  }

  /** The stamp in the current frame: ms, null when unreadable, undefined when no frame. */
  read() {
    const v = this.video;
    if (!v.videoWidth || !v.videoHeight || v.readyState < 2) return undefined;
    const w = Math.min(SAMPLE_WIDTH, v.videoWidth);
    const h = Math.max(1, Math.round((w * v.videoHeight) / v.videoWidth));
    const c = this._canvas;
    if (c.width !== w || c.height !== h) {
      c.width = w;
      c.height = h;
    }
    const g = codeGeometry(w, h);
    // Only the band with the code is drawn and read.
    const bandH = Math.ceil(g.band);
    this._ctx.drawImage(v, 0, 0, v.videoWidth, (bandH * v.videoHeight) / h, 0, 0, w, bandH);
    const img = this._ctx.getImageData(0, 0, w, bandH);
    const halfW = Math.max(0.5, g.bw / 4);
    const halfH = Math.max(0.5, g.bh / 4);
    const y0 = Math.max(0, Math.round(g.cy - halfH)), y1 = Math.min(bandH - 1, Math.round(g.cy + halfH));
    const bits = new Array(BLOCKS);
    for (let i = 0; i < BLOCKS; i++) {
      const cx = g.centre(i);
      const x0 = Math.max(0, Math.round(cx - halfW)), x1 = Math.min(w - 1, Math.round(cx + halfW));
      let sum = 0, n = 0;
      for (let y = y0; y <= y1; y++) {
        for (let x = x0; x <= x1; x++) {
          const k = (y * w + x) * 4;
          sum += 0.299 * img.data[k] + 0.587 * img.data[k + 1] + 0.114 * img.data[k + 2];
          n++;
        }
      }
      const grey = sum / n;
      if (Math.abs(grey - 128) < MARGIN) return null; // neither black nor white
      bits[i] = grey > 128 ? 1 : 0;
    }
    return decodeStamp(bits);
  }
}
