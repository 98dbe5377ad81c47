// signal.js — the HTTP side of WHEP and WHIP that the pages share: bearer
// headers, a session's DELETE, waiting for ICE gathering before the offer
// goes out, and the error of a refused request. whep.js re-exports the
// last three.

/** Headers with `Authorization: Bearer token` added when there is a token. */
export function bearer(token, headers = {}) {
  return token ? { ...headers, Authorization: `Bearer ${token}` } : headers;
}

/** DELETEs a session resource, best effort (also while the page unloads). */
export function deleteSession(url, token) {
  if (!url) return;
  fetch(url, { method: 'DELETE', headers: bearer(token), keepalive: true }).catch(() => {});
}

/** Resolves when ICE gathering is complete, or after timeoutMs. */
export function waitForGathering(pc, timeoutMs) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return waitForNewGathering(pc, timeoutMs);
}

/**
 * Like waitForGathering, but for a gathering that is starting now (an ICE
 * restart): right after setLocalDescription the state may still say
 * 'complete' from before, so only the events count.
 */
export function waitForNewGathering(pc, timeoutMs) {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      pc.removeEventListener('icegatheringstatechange', onState);
      pc.removeEventListener('icecandidate', onCandidate);
      resolve();
    };
    const onState = () => { if (pc.iceGatheringState === 'complete') done(); };
    const onCandidate = (ev) => { if (!ev.candidate) done(); };
    const timer = setTimeout(done, timeoutMs);
    pc.addEventListener('icegatheringstatechange', onState);
    pc.addEventListener('icecandidate', onCandidate);
  });
}

/** An Error for a refused request: first line of the body, .status, .retryAfter (s). */
export async function httpError(res) {
  let text = '';
  try { text = (await res.text()).trim(); } catch { /* no body */ }
  try {
    const j = JSON.parse(text);
    if (j && j.error) text = String(j.error);
  } catch { /* not JSON */ }
  const err = new Error(text.split('\n')[0] || `HTTP ${res.status}`);
  err.status = res.status;
  const ra = parseInt(res.headers.get('Retry-After') || '', 10);
  if (ra >= 0) err.retryAfter = ra;
  return err;
}
