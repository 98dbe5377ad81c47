// Checks for whep.js's onlyCodec (the player's ?codec=: one video codec offered).
//   node web/assets/whep.test.mjs     exits non-zero on failure
import { load } from './testload.mjs';

const { onlyCodec } = await load('./whep.js');

let failures = 0;
function check(ok, what) {
  if (!ok) {
    failures++;
    console.error(`FAIL: ${what}`);
  }
}

// What Chromium's receiver says it decodes, in its order.
const caps = {
  codecs: [
    { mimeType: 'video/VP8', clockRate: 90000 },
    { mimeType: 'video/rtx', clockRate: 90000, sdpFmtpLine: 'apt=96' },
    { mimeType: 'video/H264', clockRate: 90000, sdpFmtpLine: 'profile-level-id=42e01f' },
    { mimeType: 'video/VP9', clockRate: 90000 },
    { mimeType: 'video/red', clockRate: 90000 },
  ],
};
globalThis.RTCRtpReceiver = { getCapabilities: (kind) => (kind === 'video' ? caps : null) };

function transceiver() {
  return { prefs: null, setCodecPreferences(p) { this.prefs = p; } };
}

let t = transceiver();
check(onlyCodec(t, 'vp8') === true, 'vp8 is available');
check(JSON.stringify(t.prefs.map((c) => c.mimeType)) === JSON.stringify(['video/VP8', 'video/rtx']),
  `vp8 only with its retransmission: ${t.prefs && t.prefs.map((c) => c.mimeType)}`);

t = transceiver();
check(onlyCodec(t, 'H264') === true && t.prefs.length === 2 && t.prefs[0].mimeType === 'video/H264', 'h264 by any case');

t = transceiver();
check(onlyCodec(t, 'av1') === false && t.prefs === null, 'a codec the browser lacks leaves the offer as it is');

t = { setCodecPreferences: undefined };
check(onlyCodec(t, 'vp8') === false, 'a browser without setCodecPreferences offers what it has');

if (failures) {
  console.error(`${failures} failure(s)`);
  process.exit(1);
}
console.log('ok  whep.test.mjs');
