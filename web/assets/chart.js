// chart.js — the dashboard's per-viewer chart, drawn by hand on a <canvas>.
//
// drawViewerChart(canvas, viewer, {hoverX}) draws a viewer of
// GET /api/v1/streams/NAME/viewers over its history (at most WINDOW_S):
//   - the server's bandwidth estimate and the smoothed estimate (lines),
//   - the chosen rung's bitrate (a step line),
//   - audio-only stretches (a shaded band),
//   - rung switches (vertical markers labelled with a short reason),
//   - loss (a bar strip under the plot),
// and, with hoverX (CSS px from the canvas' left edge), a crosshair with
// the values of the nearest sample. The canvas is sized to its CSS box.
//
// No imports, so node can load it for the checks in chart.test.mjs.

export const WINDOW_S = 300;
const MIN_SPAN_S = 20;
const GAP_S = 3; // samples further apart than this are not joined

export const COLORS = {
  estimate: '#5aa9ff',
  smoothed: '#c58cff',
  bitrate: '#f0b43c',
  loss: '#ff5d5d',
  audioOnly: 'rgba(240, 180, 60, .10)',
  switchBad: '#ff5d5d',
  switchGood: '#37c26b',
  switchUser: '#5aa9ff',
  switchOther: '#8d94a3',
  grid: '#262b36',
  axis: '#8d94a3',
  text: '#e6e8ec',
  tooltip: 'rgba(11, 13, 17, .92)',
};

/** The legend's entries: [key, label, kind] (kind: line, step, band, bars, marker). */
export const LEGEND = [
  ['estimate', 'estimate', 'line'],
  ['smoothed', 'smoothed', 'line'],
  ['bitrate', 'rung bitrate', 'step'],
  ['switchOther', 'switch', 'marker'],
  ['loss', 'loss', 'bars'],
  ['audioOnly', 'audio only', 'band'],
];

const SHORT_REASONS = {
  initial: 'init',
  start: 'start',
  estimate: 'est',
  'congestion:overuse': 'overuse',
  'congestion:loss': 'loss',
  'congestion:nack': 'nack',
  'probe-ok': 'probe',
  backoff: 'backoff',
  manual: 'manual',
  auto: 'auto',
  'too-thin': 'thin',
  'audio-only': 'audio',
  recovered: 'recov',
  ladder: 'ladder',
};

/** A switch reason as a short label: "congestion:loss" → "loss". */
export function shortReason(reason) {
  reason = String(reason || '');
  if (SHORT_REASONS[reason]) return SHORT_REASONS[reason];
  const tail = reason.includes(':') ? reason.slice(reason.lastIndexOf(':') + 1) : reason;
  return tail.length > 8 ? tail.slice(0, 7) + '…' : tail || '?';
}

/** The colour of a switch marker by its reason. */
export function reasonColor(reason) {
  reason = String(reason || '');
  if (reason.startsWith('congestion') || reason === 'backoff' || reason === 'too-thin' || reason === 'audio-only') return COLORS.switchBad;
  if (reason === 'probe-ok' || reason === 'recovered') return COLORS.switchGood;
  if (reason === 'manual' || reason === 'auto') return COLORS.switchUser;
  return COLORS.switchOther;
}

/** A step near `raw` from 1, 2, 2.5, 5 × 10^k. */
export function niceStep(raw) {
  if (!(raw > 0) || !isFinite(raw)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  const f = raw / p;
  const m = f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10;
  return m * p;
}

/** Axis ticks from 0 to at least max: {max, step, ticks}. */
export function niceTicks(max, count = 4) {
  if (!(max > 0) || !isFinite(max)) max = 1;
  const step = niceStep(max / count);
  const top = Math.ceil(max / step - 1e-9) * step;
  const ticks = [];
  for (let v = 0; v <= top + step / 2; v += step) ticks.push(+v.toPrecision(12));
  return { max: top, step, ticks };
}

/** Bits per second, short: "1.5M", "800k", "0". */
export function shortRate(bps) {
  if (bps == null || !isFinite(bps)) return '–';
  if (bps === 0) return '0';
  if (Math.abs(bps) >= 1e6) return `${+(bps / 1e6).toFixed(2)}M`;
  if (Math.abs(bps) >= 1e3) return `${+(bps / 1e3).toFixed(1)}k`;
  return `${Math.round(bps)}`;
}

/** Seconds before now: 0 → "now", 30 → "−30 s", 120 → "−2 min", 90 → "−1:30". */
export function relTime(sec) {
  sec = Math.round(sec);
  if (sec <= 0) return 'now';
  if (sec < 60) return `−${sec} s`;
  if (sec % 60 === 0) return `−${sec / 60} min`;
  return `−${Math.floor(sec / 60)}:${String(sec % 60).padStart(2, '0')}`;
}

/** The time span to show for a viewer: {t0, t1} in Unix seconds, or null without data. */
export function timeWindow(viewer, windowS = WINDOW_S) {
  const h = (viewer && Array.isArray(viewer.history)) ? viewer.history : [];
  const sw = (viewer && Array.isArray(viewer.switches)) ? viewer.switches : [];
  let t1 = -Infinity, first = Infinity;
  for (const s of h) {
    if (!isFinite(s.t)) continue;
    if (s.t > t1) t1 = s.t;
    if (s.t < first) first = s.t;
  }
  for (const s of sw) if (isFinite(s.t) && s.t > t1) t1 = s.t;
  if (!isFinite(t1)) return null;
  if (!isFinite(first)) first = t1;
  let t0 = Math.max(first, t1 - windowS);
  if (t1 - t0 < MIN_SPAN_S) t0 = t1 - MIN_SPAN_S;
  return { t0, t1 };
}

/** Index of the sample nearest to time t in a history sorted by t (-1 if empty). */
export function nearestSample(history, t) {
  let lo = 0, hi = history.length - 1;
  if (hi < 0) return -1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (history[mid].t < t) lo = mid + 1; else hi = mid;
  }
  if (lo > 0 && Math.abs(history[lo - 1].t - t) <= Math.abs(history[lo].t - t)) return lo - 1;
  return lo;
}

/** Tick step in seconds for a span drawn `width` px wide. */
export function timeStep(span, width) {
  const steps = [5, 10, 15, 30, 60, 120, 300];
  const want = Math.max(2, Math.floor(width / 70));
  for (const s of steps) if (span / s <= want) return s;
  return steps[steps.length - 1];
}

const FONT = '11px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
const MONO = '11px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace';

/** Sizes the canvas' backing store to its CSS box; returns {ctx, w, h} in CSS px. */
function fit(canvas) {
  const dpr = Math.max(1, globalThis.devicePixelRatio || 1);
  const w = Math.max(1, Math.round(canvas.clientWidth || canvas.width));
  const h = Math.max(1, Math.round(canvas.clientHeight || canvas.height));
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  return { ctx, w, h };
}

export function drawViewerChart(canvas, viewer, { hoverX = null } = {}) {
  const { ctx, w, h } = fit(canvas);
  const history = (Array.isArray(viewer && viewer.history) ? viewer.history : [])
    .filter((s) => s && isFinite(s.t))
    .sort((a, b) => a.t - b.t);
  const win = timeWindow({ history, switches: viewer && viewer.switches });
  ctx.font = FONT;
  ctx.textBaseline = 'middle';
  if (!win) {
    ctx.fillStyle = COLORS.axis;
    ctx.textAlign = 'center';
    ctx.fillText('waiting for samples…', w / 2, h / 2);
    return;
  }
  const { t0, t1 } = win;
  const shown = history.filter((s) => s.t >= t0 - GAP_S);
  const switches = (Array.isArray(viewer.switches) ? viewer.switches : [])
    .filter((s) => s && isFinite(s.t) && s.t >= t0 && s.t <= t1)
    .sort((a, b) => a.t - b.t);

  // Layout, CSS px.
  const padL = 48, padR = 12, labelRows = 2, rowH = 13;
  const top = 6 + labelRows * rowH + 4;
  const xAxisH = 16, lossH = 22, lossGap = 8;
  const lossBottom = h - xAxisH;
  const lossTop = lossBottom - lossH;
  const bottom = lossTop - lossGap;
  const left = padL, right = w - padR;
  if (right - left < 40 || bottom - top < 30) return;

  const x = (t) => left + ((t - t0) / (t1 - t0)) * (right - left);
  let maxY = 0;
  for (const s of shown) maxY = Math.max(maxY, s.estimate || 0, s.smoothed || 0, s.bitrate || 0);
  const yt = niceTicks(maxY * 1.08 || 1e6, bottom - top > 120 ? 5 : 3);
  const y = (v) => bottom - (Math.max(0, v) / yt.max) * (bottom - top);

  // Grid and y labels.
  ctx.lineWidth = 1;
  ctx.textAlign = 'right';
  for (const v of yt.ticks) {
    const yy = Math.round(y(v)) + 0.5;
    ctx.strokeStyle = COLORS.grid;
    ctx.beginPath();
    ctx.moveTo(left, yy);
    ctx.lineTo(right, yy);
    ctx.stroke();
    ctx.fillStyle = COLORS.axis;
    ctx.fillText(shortRate(v), left - 6, yy);
  }
  // Time ticks and labels (relative to the newest sample).
  const step = timeStep(t1 - t0, right - left);
  ctx.textAlign = 'center';
  for (let ago = 0; ago <= t1 - t0 + 1e-6; ago += step) {
    const xx = Math.round(x(t1 - ago)) + 0.5;
    ctx.strokeStyle = COLORS.grid;
    ctx.beginPath();
    ctx.moveTo(xx, top);
    ctx.lineTo(xx, bottom);
    ctx.stroke();
    ctx.fillStyle = COLORS.axis;
    const label = relTime(ago);
    const tw = ctx.measureText(label).width;
    ctx.fillText(label, Math.min(right - tw / 2, Math.max(left + tw / 2, xx)), h - xAxisH / 2);
  }

  ctx.save();
  ctx.beginPath();
  ctx.rect(left, 0, right - left, h);
  ctx.clip();

  // Audio-only stretches.
  ctx.fillStyle = COLORS.audioOnly;
  for (let i = 0; i < shown.length; i++) {
    if (!shown[i].audio_only) continue;
    const next = shown[i + 1];
    const end = next && next.t - shown[i].t <= GAP_S ? next.t : shown[i].t + 0.5;
    const xa = x(shown[i].t), xb = x(end);
    ctx.fillRect(xa, top, Math.max(1, xb - xa), bottom - top);
  }

  // Lines.
  const segments = (fn, stepLine) => {
    ctx.beginPath();
    let prev = null;
    for (const s of shown) {
      const v = fn(s);
      if (v == null || !isFinite(v)) { prev = null; continue; }
      const xx = x(s.t), yy = y(v);
      if (!prev || s.t - prev.t > GAP_S) {
        if (prev && stepLine) ctx.lineTo(x(prev.t + 0.5), y(fn(prev)));
        ctx.moveTo(xx, yy);
      } else if (stepLine) {
        ctx.lineTo(xx, y(fn(prev)));
        ctx.lineTo(xx, yy);
      } else {
        ctx.lineTo(xx, yy);
      }
      prev = s;
    }
    if (prev && stepLine) ctx.lineTo(x(prev.t + 0.5), y(fn(prev)));
    ctx.stroke();
  };
  ctx.lineJoin = 'round';
  ctx.lineWidth = 2;
  ctx.strokeStyle = COLORS.bitrate;
  segments((s) => s.bitrate, true);
  ctx.lineWidth = 1.25;
  ctx.strokeStyle = COLORS.estimate;
  segments((s) => s.estimate, false);
  ctx.lineWidth = 2;
  ctx.strokeStyle = COLORS.smoothed;
  segments((s) => s.smoothed, false);

  // Switch markers with labels, staggered over labelRows rows; a label that
  // fits in no row is left out (the marker stays, the tooltip names it).
  ctx.lineWidth = 1;
  ctx.setLineDash([3, 3]);
  const rowEnd = new Array(labelRows).fill(-Infinity);
  ctx.textAlign = 'center';
  for (const sw of switches) {
    const xx = Math.round(x(sw.t)) + 0.5;
    const color = reasonColor(sw.reason);
    ctx.strokeStyle = color;
    ctx.beginPath();
    ctx.moveTo(xx, top - 2);
    ctx.lineTo(xx, lossBottom);
    ctx.stroke();
    const label = shortReason(sw.reason);
    const tw = ctx.measureText(label).width;
    const lx = Math.min(right - tw / 2, Math.max(left + tw / 2, xx));
    for (let r = 0; r < labelRows; r++) {
      if (lx - tw / 2 < rowEnd[r] + 4) continue;
      rowEnd[r] = lx + tw / 2;
      ctx.fillStyle = color;
      ctx.fillText(label, lx, 6 + r * rowH + rowH / 2);
      break;
    }
  }
  ctx.setLineDash([]);

  // Loss strip: 0 to at least 5 %.
  let maxLoss = 0;
  for (const s of shown) maxLoss = Math.max(maxLoss, s.loss || 0);
  const lossMax = Math.max(0.05, niceStep(maxLoss));
  ctx.fillStyle = COLORS.loss;
  for (let i = 0; i < shown.length; i++) {
    const s = shown[i];
    if (!(s.loss > 0)) continue;
    const next = shown[i + 1];
    const end = next && next.t - s.t <= GAP_S ? next.t : s.t + 0.5;
    const bh = Math.max(1, Math.min(1, s.loss / lossMax) * lossH);
    const xa = x(s.t);
    ctx.fillRect(xa, lossBottom - bh, Math.max(1, x(end) - xa - 0.5), bh);
  }
  ctx.restore();

  ctx.strokeStyle = COLORS.grid;
  ctx.strokeRect(left + 0.5, lossTop + 0.5, right - left - 1, lossH - 1);
  ctx.fillStyle = COLORS.axis;
  ctx.textAlign = 'right';
  ctx.fillText('loss', left - 6, lossTop + lossH / 2 - 5);
  ctx.fillText(`${Math.round(lossMax * 100)}%`, left - 6, lossTop + lossH / 2 + 6);

  if (hoverX != null && hoverX >= left && hoverX <= right && shown.length) {
    drawHover(ctx, { x, t0, t1, left, right, top, lossBottom, w, h }, shown, switches, hoverX);
  }
}

function drawHover(ctx, g, shown, switches, hoverX) {
  const t = g.t0 + ((hoverX - g.left) / (g.right - g.left)) * (g.t1 - g.t0);
  const i = nearestSample(shown, t);
  if (i < 0) return;
  const s = shown[i];
  const xx = Math.round(g.x(s.t)) + 0.5;
  ctx.strokeStyle = COLORS.axis;
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(xx, g.top);
  ctx.lineTo(xx, g.lossBottom);
  ctx.stroke();

  const lines = [
    [null, `${relTime(g.t1 - s.t)}  ${new Date(s.t * 1000).toLocaleTimeString([], { hour12: false })}`],
    [COLORS.estimate, `estimate ${shortRate(s.estimate)}b/s`],
    [COLORS.smoothed, `smoothed ${shortRate(s.smoothed)}b/s`],
    [COLORS.bitrate, `${s.rung || '?'} ${shortRate(s.bitrate)}b/s${s.audio_only ? ' (audio only)' : ''}`],
    [COLORS.loss, `loss ${((s.loss || 0) * 100).toFixed(1)} %  rtt ${s.rtt_ms != null ? Math.round(s.rtt_ms) : '–'} ms`],
  ];
  // Switches within 4 px of the cursor.
  const near = switches.filter((sw) => Math.abs(g.x(sw.t) - hoverX) <= 4);
  for (const sw of near) lines.push([reasonColor(sw.reason), `${sw.from || '–'} → ${sw.to || '–'} ${sw.reason || ''}`]);

  ctx.font = MONO;
  const lh = 15, pad = 7;
  const bw = Math.ceil(Math.max(...lines.map(([, l]) => ctx.measureText(l).width))) + pad * 2 + 10;
  const bh = lines.length * lh + pad * 2 - 2;
  let bx = xx + 10;
  if (bx + bw > g.w - 2) bx = xx - 10 - bw;
  if (bx < 2) bx = 2;
  const by = g.top + 2;
  ctx.fillStyle = COLORS.tooltip;
  ctx.strokeStyle = COLORS.grid;
  ctx.fillRect(bx, by, bw, bh);
  ctx.strokeRect(bx + 0.5, by + 0.5, bw - 1, bh - 1);
  ctx.textAlign = 'left';
  lines.forEach(([color, text], k) => {
    const ly = by + pad + k * lh + lh / 2 - 1;
    if (color) {
      ctx.fillStyle = color;
      ctx.fillRect(bx + pad, ly - 3, 6, 6);
    }
    ctx.fillStyle = COLORS.text;
    ctx.fillText(text, bx + pad + 10, ly);
  });
  ctx.font = FONT;
}
