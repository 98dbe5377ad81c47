// Checks for chart.js's pure helpers (ticks, labels, time window).
//   node web/assets/chart.test.mjs     exits non-zero on failure
import { readFileSync } from 'node:fs';

const src = readFileSync(new URL('./chart.js', import.meta.url), 'utf8');
const { niceStep, niceTicks, shortRate, shortReason, relTime, timeWindow, nearestSample, timeStep, reasonColor, COLORS, LEGEND } =
  await import('data:text/javascript;base64,' + Buffer.from(src).toString('base64'));

let failures = 0;
function check(ok, what) {
  if (!ok) {
    failures++;
    console.error(`FAIL: ${what}`);
  }
}
const eq = (a, b, what) => check(JSON.stringify(a) === JSON.stringify(b), `${what}: got ${JSON.stringify(a)}, want ${JSON.stringify(b)}`);

eq(niceStep(0.3e6), 0.5e6, 'niceStep 300k');
eq(niceStep(2.2e6), 2.5e6, 'niceStep 2.2M');
eq(niceStep(0), 1, 'niceStep 0');
eq(niceTicks(1.834e6, 4), { max: 2e6, step: 0.5e6, ticks: [0, 0.5e6, 1e6, 1.5e6, 2e6] }, 'niceTicks 1.834M');
eq(niceTicks(0).max > 0, true, 'niceTicks 0');
eq(shortRate(1500000), '1.5M', 'shortRate 1.5M');
eq(shortRate(812000), '812k', 'shortRate 812k');
eq(shortRate(0), '0', 'shortRate 0');
eq(shortReason('congestion:loss'), 'loss', 'shortReason loss');
eq(shortReason('probe-ok'), 'probe', 'shortReason probe-ok');
eq(shortReason('congestion:something-long'), 'somethi…', 'shortReason unknown');
eq(shortReason(''), '?', 'shortReason empty');
eq(relTime(0), 'now', 'relTime 0');
eq(relTime(30), '−30 s', 'relTime 30');
eq(relTime(120), '−2 min', 'relTime 120');
eq(relTime(90), '−1:30', 'relTime 90');
eq(timeWindow({ history: [], switches: [] }), null, 'timeWindow empty');
const h = [];
for (let i = 0; i < 1200; i++) h.push({ t: 1000 + i / 2 });
eq(timeWindow({ history: h }), { t0: 1599.5 - 300, t1: 1599.5 }, 'timeWindow 10 min');
eq(timeWindow({ history: h.slice(0, 3) }), { t0: 1001 - 20, t1: 1001 }, 'timeWindow short');
eq(timeWindow({ history: h.slice(0, 3), switches: [{ t: 1005 }] }).t1, 1005, 'timeWindow switch later');
eq(nearestSample(h, 1000.3), 1, 'nearestSample');
eq(nearestSample(h, 0), 0, 'nearestSample before');
eq(nearestSample(h, 1e9), h.length - 1, 'nearestSample after');
eq(nearestSample([], 5), -1, 'nearestSample empty');
check(timeStep(300, 800) >= 30, 'timeStep 300 s in 800 px');
eq(reasonColor('congestion:nack'), COLORS.switchBad, 'reasonColor congestion');
check(LEGEND.every(([k]) => COLORS[k]), 'legend colours');

if (failures) {
  console.error(`${failures} check(s) failed`);
  process.exit(1);
}
console.log('chart.js: ok');
