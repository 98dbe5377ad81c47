// clock.js — a test source: a canvas that shows the wall clock as a
// machine-readable block code (stampcode.js) and as text, with some moving
// content, plus a beep once a second. latency.js reads the code back on the
// viewer's side to measure glass-to-glass latency.
import { encodeStamp, codeGeometry } from '/assets/stampcode.js';

/**
 * clockStream({width, height, fps}) -> {stream, canvas, stop()}.
 * stream has one video track (the canvas) and, where WebAudio works, one
 * audio track (an 880 Hz beep for 100 ms at each full second).
 */
export function clockStream({ width = 1280, height = 720, fps = 30 } = {}) {
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext('2d', { alpha: false });
  const geo = codeGeometry(width, height);
  const start = Date.now();
  let frames = 0;

  function draw() {
    const now = Date.now();
    frames++;
    // Background and the grey band behind the code.
    ctx.fillStyle = '#14171d';
    ctx.fillRect(0, 0, width, height);
    ctx.fillStyle = '#808080';
    ctx.fillRect(0, 0, width, geo.band);
    // The code: whole-pixel edges keep blocks crisp.
    const bits = encodeStamp(now);
    const top = Math.round(geo.y0), bottom = Math.round(geo.y0 + geo.bh);
    for (let i = 0; i < bits.length; i++) {
      const x = Math.round(geo.x0 + i * geo.bw);
      const x1 = Math.round(geo.x0 + (i + 1) * geo.bw);
      ctx.fillStyle = bits[i] ? '#ffffff' : '#000000';
      ctx.fillRect(x, top, x1 - x, bottom - top);
    }

    // The time as text.
    const d = new Date(now);
    const hms = [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
    const text = `${hms}.${String(d.getMilliseconds()).padStart(3, '0')}`;
    ctx.fillStyle = '#e6e8ec';
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    ctx.font = `600 ${Math.round(height / 7)}px ui-monospace, Menlo, Consolas, monospace`;
    ctx.fillText(text, width / 2, height * 0.42);
    ctx.font = `${Math.round(height / 22)}px ui-monospace, Menlo, Consolas, monospace`;
    ctx.fillStyle = '#8d94a3';
    ctx.fillText(`${now}  ·  frame ${frames}  ·  ${width}×${height} @ ${fps}`, width / 2, height * 0.58);

    // Moving content: a sweeping hand and a ball bouncing along the bottom.
    const t = (now - start) / 1000;
    const r = height * 0.12;
    const cx = width * 0.12, cy = height * 0.8;
    ctx.strokeStyle = '#5aa9ff';
    ctx.lineWidth = Math.max(2, height / 120);
    ctx.beginPath();
    ctx.arc(cx, cy, r, 0, 2 * Math.PI);
    ctx.moveTo(cx, cy);
    const a = (t % 1) * 2 * Math.PI - Math.PI / 2;
    ctx.lineTo(cx + r * Math.cos(a), cy + r * Math.sin(a));
    ctx.stroke();
    const span = width * 0.7;
    const phase = (t / 3) % 2;
    const bx = width * 0.25 + span * (phase < 1 ? phase : 2 - phase);
    ctx.fillStyle = `hsl(${(t * 60) % 360}, 80%, 60%)`;
    ctx.beginPath();
    ctx.arc(bx, height * 0.82, height * 0.05, 0, 2 * Math.PI);
    ctx.fill();

    beep(now);
  }

  // Audio: an oscillator gated to a short beep at each full second.
  let audio = null;
  try {
    const AC = window.AudioContext || window.webkitAudioContext;
    const actx = new AC();
    const osc = actx.createOscillator();
    const gain = actx.createGain();
    const dest = actx.createMediaStreamDestination();
    osc.frequency.value = 880;
    gain.gain.value = 0;
    osc.connect(gain).connect(dest);
    osc.start();
    if (actx.state === 'suspended') {
      // Autoplay rules may hold the context until the page is touched.
      actx.resume().catch(() => {});
      addEventListener('pointerdown', () => actx.resume().catch(() => {}), { once: true });
    }
    audio = { actx, gain, track: dest.stream.getAudioTracks()[0] };
  } catch {
    audio = null; // no WebAudio: video only
  }
  let beeping = false;
  function beep(now) {
    if (!audio) return;
    const on = now % 1000 < 100;
    if (on === beeping) return;
    beeping = on;
    audio.gain.gain.setValueAtTime(on ? 0.2 : 0, audio.actx.currentTime);
  }

  draw();
  const stream = canvas.captureStream(fps);
  const timer = setInterval(draw, 1000 / fps);
  if (audio && audio.track) stream.addTrack(audio.track);

  return {
    stream,
    canvas,
    stop() {
      clearInterval(timer);
      for (const t of stream.getTracks()) t.stop();
      if (audio) audio.actx.close().catch(() => {});
    },
  };
}
