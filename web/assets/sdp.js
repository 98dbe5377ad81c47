// sdp.js — small pure SDP helpers for the WHIP client (whip.js): codec
// ordering and choice, the codec an answer settled on, and the
// trickle-ice-sdpfrag bodies of an ICE restart (RFC 8840, RFC 9725 4.3).
// No imports: node runs sdp.test.mjs against this file.

/** Splits SDP text into {session: [lines], media: [[lines], ...]} (no line ends). */
export function splitSdp(text) {
  const session = [];
  const media = [];
  for (const raw of String(text).split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (!line) continue;
    if (line.startsWith('m=')) media.push([line]);
    else if (media.length) media[media.length - 1].push(line);
    else session.push(line);
  }
  return { session, media };
}

function joinSdp(lines) {
  return lines.join('\r\n') + '\r\n';
}

const value = (lines, key) => {
  const l = lines.find((x) => x.startsWith(`a=${key}:`));
  return l ? l.slice(key.length + 3) : '';
};

/**
 * The sdpfrag for a PATCH after an ICE restart: the new ufrag and pwd and
 * the candidates of each media section, with its a=mid.
 */
export function buildSdpFrag(localSdp, { complete = true } = {}) {
  const { session, media } = splitSdp(localSdp);
  const out = session.filter((l) => l.startsWith('a=ice-options:') || l.startsWith('a=group:BUNDLE'));
  const sUfrag = value(session, 'ice-ufrag');
  const sPwd = value(session, 'ice-pwd');
  for (const m of media) {
    const [kind, , proto, ...fmts] = m[0].slice(2).split(' ');
    out.push(`m=${kind} 9 ${proto} ${fmts.join(' ')}`.trim());
    const mid = value(m, 'mid');
    if (mid) out.push(`a=mid:${mid}`);
    out.push(`a=ice-ufrag:${value(m, 'ice-ufrag') || sUfrag}`);
    out.push(`a=ice-pwd:${value(m, 'ice-pwd') || sPwd}`);
    out.push(...m.filter((l) => l.startsWith('a=candidate:')));
    if (complete) out.push('a=end-of-candidates');
  }
  return joinSdp(out);
}

/**
 * Parses an sdpfrag: {ufrag, pwd, media: [{mid, ufrag, pwd, candidates,
 * end}]}. Candidates before any m= line go to a first, mid-less entry.
 */
export function parseSdpFrag(text) {
  const { session, media } = splitSdp(text);
  const frag = { ufrag: value(session, 'ice-ufrag'), pwd: value(session, 'ice-pwd'), media: [] };
  const entry = (lines) => ({
    mid: value(lines, 'mid'),
    ufrag: value(lines, 'ice-ufrag'),
    pwd: value(lines, 'ice-pwd'),
    candidates: lines.filter((l) => l.startsWith('a=candidate:')),
    end: lines.includes('a=end-of-candidates'),
  });
  const loose = entry(session);
  if (loose.candidates.length) frag.media.push({ ...loose, mid: '', ufrag: '', pwd: '' });
  for (const m of media) frag.media.push(entry(m));
  if (!frag.ufrag) {
    const m = frag.media.find((x) => x.ufrag);
    if (m) { frag.ufrag = m.ufrag; frag.pwd = m.pwd; }
  }
  return frag;
}

/**
 * A new remote description: the previous answer with the credentials and
 * candidates of a parsed sdpfrag put in place of the old ones. Media are
 * matched by a=mid, then by position.
 */
export function applySdpFrag(answerSdp, frag) {
  const { session, media } = splitSdp(answerSdp);
  const isIce = (l) => l.startsWith('a=candidate:') || l === 'a=end-of-candidates';
  const setCreds = (lines, ufrag, pwd) => lines.map((l) => {
    if (ufrag && l.startsWith('a=ice-ufrag:')) return `a=ice-ufrag:${ufrag}`;
    if (pwd && l.startsWith('a=ice-pwd:')) return `a=ice-pwd:${pwd}`;
    return l;
  });
  const out = setCreds(session.filter((l) => !isIce(l)), frag.ufrag, frag.pwd);
  const withMid = frag.media.filter((f) => f.mid);
  media.forEach((m, i) => {
    const mid = value(m, 'mid');
    let f = withMid.length ? frag.media.find((x) => x.mid && x.mid === mid) : frag.media[i];
    if (!f && i === 0) f = frag.media.find((x) => !x.mid); // loose candidates
    let lines = setCreds(m.filter((l) => !isIce(l)), (f && f.ufrag) || frag.ufrag, (f && f.pwd) || frag.pwd);
    if (f) {
      lines = lines.concat(f.candidates);
      if (f.end) lines.push('a=end-of-candidates');
    }
    out.push(...lines);
  });
  return joinSdp(out);
}

/**
 * Codec list (RTCRtpCodec[]) with H.264 first: constrained baseline
 * (profile-level-id 42e01f) with packetization-mode=1 first, then other
 * 42e01f, then the other H.264 profiles; the rest keep their order.
 */
export function preferH264(codecs) {
  const rank = (c) => {
    if (!/^video\/h264$/i.test(c.mimeType || '')) return 3;
    const fmtp = (c.sdpFmtpLine || '').toLowerCase();
    if (!fmtp.includes('profile-level-id=42e01f')) return 2;
    return fmtp.includes('packetization-mode=1') ? 0 : 1;
  };
  return codecs.map((c, i) => [rank(c), i, c]).sort((a, b) => a[0] - b[0] || a[1] - b[1]).map((x) => x[2]);
}

/** Codec list with Opus first, the rest in their order. */
export function preferOpus(codecs) {
  const opus = codecs.filter((c) => /^audio\/opus$/i.test(c.mimeType || ''));
  return opus.concat(codecs.filter((c) => !opus.includes(c)));
}

// Entries of a codec list that are not codecs of their own but repair or
// protect the media codec they go with: they stay whatever is chosen.
const HELPER_CODEC = /^video\/(rtx|red|ulpfec|flexfec(-03)?)$/i;

/**
 * The publisher's video codec choice from free text ('auto', 'h264',
 * 'H.264', 'vp8', 'VP8'...): 'auto', 'h264' or 'vp8'; null for anything else.
 */
export function parseVideoCodecChoice(text) {
  const v = String(text == null ? '' : text).trim().toLowerCase().replace(/[.\s_-]/g, '');
  if (v === '' || v === 'auto') return 'auto';
  if (v === 'h264' || v === 'avc') return 'h264';
  if (v === 'vp8') return 'vp8';
  return null;
}

/**
 * Codec list (RTCRtpCodec[]) for a video codec choice, for
 * setCodecPreferences. 'auto' is preferH264: every codec, H.264 first.
 * 'h264' or 'vp8' keeps only that codec (H.264 in preferH264's order) and
 * the helpers (rtx, red, ulpfec, flexfec), so that nothing else can be
 * negotiated. Returns null when the list has no entry of the chosen codec:
 * the caller falls back to 'auto'.
 */
export function videoCodecsFor(codecs, choice) {
  const c = parseVideoCodecChoice(choice);
  if (c === 'auto' || c === null) return preferH264(codecs);
  const mime = c === 'h264' ? /^video\/h264$/i : /^video\/vp8$/i;
  const kept = codecs.filter((x) => mime.test(x.mimeType || '') || HELPER_CODEC.test(x.mimeType || ''));
  if (!kept.some((x) => mime.test(x.mimeType || ''))) return null;
  return c === 'h264' ? preferH264(kept) : kept;
}

/**
 * The codec an answer settled on for the first m-section of kind ('video'
 * or 'audio'): its first payload type's {name, fmtp} (name as in its
 * rtpmap, e.g. 'VP8', 'H264', 'opus'); null when there is none.
 */
export function answeredCodec(sdp, kind) {
  const { media } = splitSdp(sdp);
  const m = media.find((lines) => lines[0].startsWith(`m=${kind} `));
  if (!m) return null;
  const parts = m[0].split(' ');
  if (parts.length < 4 || parts[1] === '0') return null; // no formats, or rejected
  const pt = parts[3];
  const rtpmap = m.find((l) => l.startsWith(`a=rtpmap:${pt} `));
  if (!rtpmap) return null;
  const name = rtpmap.slice(`a=rtpmap:${pt} `.length).split('/')[0];
  const fmtp = m.find((l) => l.startsWith(`a=fmtp:${pt} `));
  return { name, fmtp: fmtp ? fmtp.slice(`a=fmtp:${pt} `.length) : '' };
}
