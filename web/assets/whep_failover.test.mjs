// Checks for whep.js's cluster failover: which node the player moves to,
// and that it moves only when its node is gone.
//   node web/assets/whep_failover.test.mjs     exits non-zero on failure
import { load } from './testload.mjs';

const { WhepPlayer } = await load('./whep.js');

let failures = 0;
function check(ok, what) {
  if (!ok) {
    failures++;
    console.error(`FAIL: ${what}`);
  }
}

globalThis.location = new URL('http://10.0.0.3:8080/watch/cam');
const nodes = ['http://10.0.0.1:8080', 'http://10.0.0.2:8080', 'http://10.0.0.3:8080'];

// Not a cluster (no node list): nowhere to go.
const solo = new WhepPlayer({}, 'cam');
check(solo._nextNode() === false && solo.base === '', 'a player with no node list stays');

// A cluster: never the node it plays from, always one of the others.
const p = new WhepPlayer({}, 'cam');
p.nodes = nodes.slice();
for (let i = 0; i < 20; i++) {
  p.base = '';
  check(p._nextNode() === true, 'a player in a cluster has somewhere to go');
  check(p.base !== 'http://10.0.0.3:8080' && nodes.includes(p.base), `moved to ${p.base}, not another node`);
  const from = p.base;
  p._nextNode();
  check(p.base !== from, `from ${from} it moved to ${p.base}, the same node`);
}
check(p.url.startsWith(p.base + '/whep/cam'), `the WHEP URL follows the node: ${p.url}`);

// A node that still answers /healthz is not left when decoding stalls
// (the publisher may be reconnecting); one that does not answer is.
async function stallWith(fetchResult) {
  const q = new WhepPlayer({}, 'cam');
  q.nodes = nodes.slice();
  q.state = 'playing';
  q._running = true;
  q.pc = {};
  let failed = null;
  q._fail = (err) => { failed = err; };
  globalThis.fetch = async () => { if (fetchResult instanceof Error) throw fetchResult; return fetchResult; };
  q._checkStall({ framesDecoded: 10 });
  q._framesAt = Date.now() - 5000; // no new frame for 5 s
  q._checkStall({ framesDecoded: 10 });
  await new Promise((r) => setTimeout(r, 20));
  return failed;
}
check(await stallWith({ ok: true }) === null, 'a stalled player whose node answers stays');
const err = await stallWith(new TypeError('fetch failed'));
check(err !== null && err.failover === true, 'a stalled player whose node is gone fails over');

// The node list is asked for with the player's stream, so a token that
// may play that stream only is let through.
{
  const asked = [];
  globalThis.fetch = async (u) => { asked.push(String(u)); return { ok: true, json: async () => ({ nodes: nodes.map((url) => ({ url })) }) }; };
  const r = new WhepPlayer({}, 'cam 2', { token: 't' });
  await r._loadNodes();
  const u = asked.length === 1 ? new URL(asked[0]) : null;
  check(u !== null && u.pathname === '/api/v1/cluster/nodes' && u.searchParams.get('stream') === 'cam 2', `the node list asked as ${asked}`);
  check(r.nodes.length === 3, 'the node list was read');
}

if (failures) {
  console.error(`${failures} failure(s)`);
  process.exit(1);
}
console.log('ok  whep_failover.test.mjs');
