// Checks for operator.js's pure helpers (chain formatting, op ranges,
// error messages, event lines).
//   node web/assets/operator.test.mjs     exits non-zero on failure
import { readFileSync } from 'node:fs';

const src = readFileSync(new URL('./operator.js', import.meta.url), 'utf8');
const { formatChain, elementRanges, chainErrorMessage, describeEvent, QUICK_OPS, TwoStep, CLEAR_CONFIRM_MS } =
  await import('data:text/javascript;base64,' + Buffer.from(src).toString('base64'));

let failures = 0;
function check(ok, what) {
  if (!ok) {
    failures++;
    console.error(`FAIL: ${what}`);
  }
}
const eq = (a, b, what) => check(a === b, `${what}: got ${JSON.stringify(a)}, want ${JSON.stringify(b)}`);

// formatChain: one op per line, round-trips.
const chain = [
  { op: 'blur', rect: [0.6, 0.1, 0.3, 0.3], radius: 12, kind: 'gaussian' },
  { op: 'text', text: 'a "quoted" {clock}, [x]', at: 'bottom-left' },
  { op: 'stamp' },
];
const text = formatChain(chain);
eq(text.split('\n').length, chain.length + 2, 'formatChain lines');
eq(JSON.stringify(JSON.parse(text)), JSON.stringify(chain), 'formatChain round trip');
eq(formatChain([]), '[]', 'formatChain empty');
eq(formatChain(null), '[]', 'formatChain null');
check(text.includes('"rect": [0.6, 0.1, 0.3, 0.3]'), 'formatChain spacing');

// elementRanges: each op's text, strings with brackets and commas included.
const r = elementRanges(text);
eq(r && r.length, 3, 'elementRanges count');
for (let i = 0; i < chain.length; i++) {
  eq(JSON.stringify(JSON.parse(text.slice(r[i][0], r[i][1]))), JSON.stringify(chain[i]), `elementRanges op ${i}`);
}
const loose = '  [ {"op":"a\\"]"} ,\n\n 42 ,"x"]';
const lr = elementRanges(loose);
eq(lr.map(([a, b]) => loose.slice(a, b)).join('|'), '{"op":"a\\"]"}|42|"x"', 'elementRanges loose');
eq(elementRanges('{"op":"blur"}'), null, 'elementRanges not an array');
eq(elementRanges('[]').length, 0, 'elementRanges empty');
eq(elementRanges('[{"op":"blur", "rect": [1,').length, 1, 'elementRanges unterminated');

// chainErrorMessage strips the "op N (name): field: " prefix.
eq(chainErrorMessage({ error: 'op 1 (blur): rect: width must be > 0', index: 1, op: 'blur', field: 'rect' }),
  'width must be > 0', 'chainErrorMessage field');
eq(chainErrorMessage({ error: 'op 0: an op must be a JSON object: x', index: 0 }),
  'an op must be a JSON object: x', 'chainErrorMessage no op');
eq(chainErrorMessage({ error: 'op -1: the chain must be a JSON array of ops: y', index: -1 }),
  'the chain must be a JSON array of ops: y', 'chainErrorMessage chain');
eq(chainErrorMessage({ error: 'chain over the frame budget: 40 ms' }), 'chain over the frame budget: 40 ms', 'chainErrorMessage other');

// describeEvent.
eq(describeEvent({ type: 'scene_cut', pts: 12.3, score: 0.812 }), 'scene cut at 12.30 s (0.81)', 'scene_cut');
eq(describeEvent({ type: 'black', from: 1, to: 3.2, pts: 3.2 }), 'black 1.00 → 3.20 s', 'black');
eq(describeEvent({ type: 'black', from: 0, to: 3.2, pts: 3.2 }), 'black 0.00 → 3.20 s', 'black from 0');
eq(describeEvent({ type: 'black_start', pts: 1 }), 'black from 1.00 s', 'black_start');
eq(describeEvent({ type: 'frozen_start', pts: 4, from: 4 }), 'frozen from 4.00 s', 'frozen_start');
eq(describeEvent({ type: 'frozen', from: 4, to: 6.5, pts: 6.5 }), 'frozen 4.00 → 6.50 s', 'frozen');
eq(describeEvent({ type: 'new_thing', pts: 2 }), 'new thing at 2.00 s', 'unknown');
eq(describeEvent({}), 'event', 'empty');

// The quick-add ops the brief names.
const quick = Object.fromEntries(QUICK_OPS);
eq(JSON.stringify(quick['Blur box']), '{"op":"blur","rect":[0.35,0.2,0.3,0.4],"radius":16}', 'quick blur');
eq(JSON.stringify(quick['Clock text']), '{"op":"text","text":"{clock} {stream}","at":"bottom-left"}', 'quick text');
eq(QUICK_OPS.length, 7, 'quick count');

// TwoStep: Clear needs a second press within the window.
{
  const t = new TwoStep(CLEAR_CONFIRM_MS);
  eq(CLEAR_CONFIRM_MS, 5000, 'clear window');
  eq(t.press(1000), false, 'first press arms');
  eq(t.armed, true, 'armed after the first press');
  eq(t.press(1000 + CLEAR_CONFIRM_MS), true, 'second press within the window fires');
  eq(t.armed, false, 'disarmed after firing');
  eq(t.press(7000), false, 'a press after firing arms again');
  eq(t.press(7001 + CLEAR_CONFIRM_MS), false, 'a press after the window arms again, not fires');
  eq(t.press(7002 + CLEAR_CONFIRM_MS), true, 'and the next one fires');
  t.press(20000);
  t.disarm();
  eq(t.press(20001), false, 'disarm forgets the first press');
}

if (failures) {
  console.error(`${failures} failure(s)`);
  process.exit(1);
}
console.log('operator.js: ok');
