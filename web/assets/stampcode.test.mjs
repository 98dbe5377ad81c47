// Round-trips and corruption checks for stampcode.js. No dependencies:
//   node web/assets/stampcode.test.mjs
// Exits non-zero on failure. stampcode.js is a browser ES module (a .js file
// without a package.json), so it is loaded from a data: URL.
import { readFileSync } from 'node:fs';

const src = readFileSync(new URL('./stampcode.js', import.meta.url), 'utf8');
const { encodeStamp, decodeStamp, codeGeometry, BLOCKS, MAX_STAMP } =
  await import('data:text/javascript;base64,' + Buffer.from(src).toString('base64'));

let failures = 0;
let checks = 0;
function check(ok, what) {
  checks++;
  if (!ok) {
    failures++;
    console.error(`FAIL: ${what}`);
  }
}

// Round trips: edges, powers of two, today, and a pseudo-random spread.
const values = [0, 1, 2, 3, 255, 256, 2 ** 32 - 1, 2 ** 32, 2 ** 40, MAX_STAMP - 1, MAX_STAMP, Date.now()];
for (let i = 0; i < 41; i++) values.push(2 ** i, 2 ** i - 1);
let seed = 12345;
const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
for (let i = 0; i < 2000; i++) values.push(Math.floor(rand() * MAX_STAMP));
for (let i = 0; i < 200; i++) values.push(1.7e12 + Math.floor(rand() * 1e11));

for (const v of values) {
  const bits = encodeStamp(v);
  check(bits.length === BLOCKS, `length of code for ${v}`);
  check(bits.every((b) => b === 0 || b === 1), `bits of ${v} are 0/1`);
  check(bits[0] === 1 && bits[BLOCKS - 1] === 0, `guards of ${v}`);
  check(decodeStamp(bits) === v, `round trip ${v} -> ${decodeStamp(bits)}`);
  check(decodeStamp(bits.map(Boolean)) === v, `round trip of ${v} as booleans`);

  // Every single flipped bit is caught (guard or parity).
  for (let i = 0; i < BLOCKS; i++) {
    const bad = bits.slice();
    bad[i] ^= 1;
    check(decodeStamp(bad) === null, `flip of bit ${i} in ${v} rejected`);
  }
}

// Malformed input.
const good = encodeStamp(1700000000000);
check(decodeStamp(null) === null, 'null rejected');
check(decodeStamp([]) === null, 'empty rejected');
check(decodeStamp(good.slice(1)) === null, 'short rejected');
check(decodeStamp([...good, 0]) === null, 'long rejected');
check(decodeStamp(good.map((b, i) => (i === 5 ? 2 : b))) === null, 'non-binary value rejected');
check(decodeStamp(new Array(BLOCKS).fill(0)) === null, 'all black rejected');
check(decodeStamp(new Array(BLOCKS).fill(1)) === null, 'all white rejected');
check(decodeStamp([1, ...new Array(BLOCKS - 1).fill(0)]) === null, 'white start, all black rejected');
check(decodeStamp(good.slice().reverse()) === null, 'mirrored rejected');

// Out-of-range stamps are refused by the encoder.
for (const v of [-1, 0.5, MAX_STAMP + 1, NaN, Infinity, '5']) {
  let threw = false;
  try { encodeStamp(v); } catch { threw = true; }
  check(threw, `encodeStamp(${String(v)}) throws`);
}

// Geometry: blocks are at least width/48 wide and inside the frame's top sixth.
for (const [w, h] of [[1280, 720], [640, 360], [320, 180], [1920, 1080]]) {
  const g = codeGeometry(w, h);
  check(g.bw >= w / 48, `block width at ${w}x${h}`);
  check(g.x0 > 0 && g.centre(BLOCKS - 1) + g.bw / 2 < w, `row inside the frame at ${w}x${h}`);
  check(g.y0 > 0 && g.y0 + g.bh < h / 6, `row in the top sixth at ${w}x${h}`);
}

if (failures) {
  console.error(`stampcode: ${failures} of ${checks} checks failed`);
  process.exit(1);
}
console.log(`stampcode: ${checks} checks passed`);
