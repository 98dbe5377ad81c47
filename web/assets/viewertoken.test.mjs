// Checks for the viewer token of the built-in pages: viewertoken.js (taken
// from the page URL into sessionStorage and off the address bar, headers,
// EventSource URLs) and WhepPlayer's use of it (Bearer on POST and DELETE,
// no retries after a 401 until setToken, then a POST with the new token),
// against fake browser objects.
//   node web/assets/viewertoken.test.mjs     exits non-zero on failure
import { load } from './testload.mjs';

const vt = await load('./viewertoken.js');
const { WhepPlayer } = await load('./whep.js');

let failures = 0;
function check(ok, what) {
  if (!ok) {
    failures++;
    console.error(`FAIL: ${what}`);
  }
}
const eq = (a, b, what) => check(JSON.stringify(a) === JSON.stringify(b), `${what}: got ${JSON.stringify(a)}, want ${JSON.stringify(b)}`);

// ---- viewertoken.js ---------------------------------------------------------

eq(vt.splitToken('https://h/watch/demo?token=abc'), { token: 'abc', clean: '/watch/demo' }, 'splitToken alone');
eq(vt.splitToken('https://h/watch/demo?rung=360p&token=a%2Bb%3D&measure=1#x'),
  { token: 'a+b=', clean: '/watch/demo?rung=360p&measure=1#x' }, 'splitToken keeps the other parameters');
eq(vt.splitToken('https://h/watch/demo?rung=360p'), { token: '', clean: null }, 'splitToken without a token');
eq(vt.splitToken('https://h/watch/demo?token='), { token: '', clean: '/watch/demo' }, 'splitToken empty token');

class FakeStorage {
  constructor() { this.m = new Map(); }
  getItem(k) { return this.m.has(k) ? this.m.get(k) : null; }
  setItem(k, v) { this.m.set(k, String(v)); }
  removeItem(k) { this.m.delete(k); }
}
function fakeWindow(href, storage = new FakeStorage()) {
  const win = {
    location: { href },
    sessionStorage: storage,
    history: {
      state: { keep: 1 },
      calls: [],
      replaceState(state, title, url) {
        this.calls.push([state, url]);
        win.location.href = new URL(url, win.location.href).href;
      },
    },
  };
  return win;
}

{
  const win = fakeWindow('https://h/watch/demo?token=s3cret&rung=360p');
  eq(vt.adoptToken(win), 's3cret', 'adoptToken returns the URL token');
  eq(win.location.href, 'https://h/watch/demo?rung=360p', 'adoptToken strips the token from the address bar');
  eq(win.history.calls, [[{ keep: 1 }, '/watch/demo?rung=360p']], 'adoptToken replaces (not pushes) the entry, keeping its state');
  eq(win.sessionStorage.getItem(vt.TOKEN_KEY), 's3cret', 'adoptToken stores the token');

  // A later page in the same tab, with no token in its URL, uses the stored one.
  const next = fakeWindow('https://h/dashboard', win.sessionStorage);
  eq(vt.adoptToken(next), 's3cret', 'adoptToken falls back to the stored token');
  eq(next.history.calls.length, 0, 'adoptToken leaves a clean URL alone');

  // A new token in a URL replaces the stored one.
  const other = fakeWindow('https://h/watch/x?token=new', win.sessionStorage);
  eq(vt.adoptToken(other), 'new', 'a URL token replaces the stored one');
  vt.setViewerToken('', other);
  eq(other.sessionStorage.getItem(vt.TOKEN_KEY), null, 'setViewerToken("") forgets the token');
}
{
  // Storage that throws (blocked cookies) must not break the page.
  const bad = { getItem() { throw new Error('denied'); }, setItem() { throw new Error('denied'); }, removeItem() { throw new Error('denied'); } };
  const win = fakeWindow('https://h/watch/demo?token=t1', bad);
  eq(vt.adoptToken(win), 't1', 'adoptToken with blocked storage still returns the token');
  eq(win.location.href, 'https://h/watch/demo', 'adoptToken with blocked storage still strips the URL');
  const none = { location: { href: 'https://h/' }, history: { replaceState() {} } };
  Object.defineProperty(none, 'sessionStorage', { get() { throw new Error('SecurityError'); } });
  eq(vt.viewerToken(none), '', 'viewerToken with no storage');
}

eq(vt.authHeaders('', { 'Content-Type': 'application/sdp' }), { 'Content-Type': 'application/sdp' }, 'authHeaders without a token');
eq(vt.authHeaders('t', { 'Content-Type': 'application/sdp' }), { 'Content-Type': 'application/sdp', Authorization: 'Bearer t' }, 'authHeaders with a token');
eq(vt.tokenURL('/api/v1/streams/a/events', ''), '/api/v1/streams/a/events', 'tokenURL without a token');
eq(vt.tokenURL('/api/v1/streams/a/events', 'a b&c'), '/api/v1/streams/a/events?token=a%20b%26c', 'tokenURL escapes');
eq(vt.tokenURL('/x?y=1', 't'), '/x?y=1&token=t', 'tokenURL after a query');

// ---- WhepPlayer with a token, against fakes ----------------------------------

const requests = [];
let answer = () => new Response('v=0\r\n', { status: 201, headers: { Location: '/whep/demo/sessions/abc' } });
globalThis.location = { href: 'https://h/watch/demo' };
globalThis.MediaStream = class { addTrack() {} };
globalThis.RTCPeerConnection = class {
  constructor() { this.iceGatheringState = 'complete'; this.connectionState = 'new'; }
  addTransceiver() {}
  createDataChannel() { return { readyState: 'connecting', send() {} }; }
  async createOffer() { return { type: 'offer', sdp: 'v=0\r\noffer\r\n' }; }
  async setLocalDescription(d) { this.localDescription = d; }
  async setRemoteDescription(d) { this.remoteDescription = d; }
  addEventListener() {}
  removeEventListener() {}
  close() {}
};
globalThis.fetch = async (url, init = {}) => {
  requests.push({ url: String(url), method: init.method || 'GET', auth: (init.headers || {}).Authorization || '' });
  return init.method === 'DELETE' ? new Response(null, { status: 204 }) : answer();
};

const waitFor = async (cond, what) => {
  for (let i = 0; i < 200; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  check(false, `timed out waiting for ${what}`);
};
const video = { play() { return Promise.resolve(); }, srcObject: null };

{
  // With a token: the POST and, on stop, the DELETE carry it.
  requests.length = 0;
  const p = new WhepPlayer(video, 'demo', { token: 'vt1' });
  p.start();
  await waitFor(() => p.sessionURL, 'the session');
  eq(requests.map((r) => [r.method, r.url, r.auth]), [['POST', '/whep/demo', 'Bearer vt1']], 'POST with the token');
  p.stop();
  await waitFor(() => requests.length === 2, 'the DELETE');
  eq(requests[1], { url: 'https://h/whep/demo/sessions/abc', method: 'DELETE', auth: 'Bearer vt1' }, 'DELETE with the token');
}
{
  // 401: state unauthorized, no retry; setToken connects again with the new token.
  requests.length = 0;
  answer = () => new Response('{"error":"a viewer token is needed"}', { status: 401, headers: { 'WWW-Authenticate': 'Bearer' } });
  const states = [];
  const p = new WhepPlayer(video, 'demo');
  p.on('state', (s) => states.push(s.state));
  p.start();
  await waitFor(() => p.state === 'unauthorized', 'unauthorized');
  eq(p.detail, 'a viewer token is needed', 'the unauthorized detail without a token');
  eq(requests.map((r) => r.auth), [''], 'the first POST has no token');
  await new Promise((r) => setTimeout(r, 1200)); // past the first back-off (1 s)
  eq(requests.length, 1, 'no retry after a 401');
  p.setToken('wrong');
  await waitFor(() => requests.length === 2 && p.state === 'unauthorized' && states.filter((s) => s === 'unauthorized').length === 2, 'the second refusal');
  eq(requests[1].auth, 'Bearer wrong', 'setToken posts again with the new token');
  eq(p.detail, 'the viewer token was refused', 'the unauthorized detail with a token');
  answer = () => new Response('v=0\r\n', { status: 201, headers: { Location: '/whep/demo/sessions/def' } });
  p.setToken('vt2');
  await waitFor(() => p.sessionURL, 'the session with the right token');
  eq(requests[2].auth, 'Bearer vt2', 'the accepted POST carries the right token');
  p.setToken('vt3'); // while connected: no new POST
  await new Promise((r) => setTimeout(r, 20));
  eq(requests.length, 3, 'setToken while not refused posts nothing');
  p.stop();
}

if (failures) {
  console.error(`${failures} check(s) failed`);
  process.exit(1);
}
console.log('ok  viewertoken.test.mjs');
