// Checks for sdp.js (sdpfrag building, parsing and applying; codec order).
//   node web/assets/sdp.test.mjs     exits non-zero on failure
import { readFileSync } from 'node:fs';

const src = readFileSync(new URL('./sdp.js', import.meta.url), 'utf8');
const { buildSdpFrag, parseSdpFrag, applySdpFrag, preferH264, preferOpus, splitSdp,
  parseVideoCodecChoice, videoCodecsFor, answeredCodec } =
  await import('data:text/javascript;base64,' + Buffer.from(src).toString('base64'));

let failures = 0;
function check(ok, what) {
  if (!ok) {
    failures++;
    console.error(`FAIL: ${what}`);
  }
}

const offer = [
  'v=0', 'o=- 1 2 IN IP4 127.0.0.1', 's=-', 't=0 0',
  'a=group:BUNDLE 0 1', 'a=extmap-allow-mixed', 'a=msid-semantic: WMS',
  'm=video 9 UDP/TLS/RTP/SAVPF 96 97', 'c=IN IP4 0.0.0.0',
  'a=ice-ufrag:NEWU', 'a=ice-pwd:newpassword0123456789', 'a=ice-options:trickle',
  'a=mid:0', 'a=sendonly', 'a=rtpmap:96 H264/90000',
  'a=candidate:1 1 udp 2122260223 192.0.2.1 50000 typ host',
  'a=candidate:2 1 udp 1686052607 198.51.100.1 50000 typ srflx raddr 192.0.2.1 rport 50000',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'c=IN IP4 0.0.0.0',
  'a=ice-ufrag:NEWU', 'a=ice-pwd:newpassword0123456789',
  'a=mid:1', 'a=sendonly', 'a=rtpmap:111 opus/48000/2',
].join('\r\n') + '\r\n';

const frag = buildSdpFrag(offer);
const fl = frag.trim().split('\r\n');
check(frag.endsWith('\r\n'), 'frag ends with CRLF');
check(fl[0] === 'a=group:BUNDLE 0 1', 'frag keeps the BUNDLE group');
check(fl.includes('m=video 9 UDP/TLS/RTP/SAVPF 96 97'), 'frag has the video m-line');
check(fl.includes('m=audio 9 UDP/TLS/RTP/SAVPF 111'), 'frag has the audio m-line');
check(fl.filter((l) => l === 'a=ice-ufrag:NEWU').length === 2, 'ufrag per media');
check(fl.filter((l) => l === 'a=ice-pwd:newpassword0123456789').length === 2, 'pwd per media');
check(fl.filter((l) => l.startsWith('a=candidate:')).length === 2, 'both candidates');
check(fl.indexOf('a=mid:0') < fl.indexOf('a=candidate:1 1 udp 2122260223 192.0.2.1 50000 typ host'), 'candidate after its mid');
check(!fl.some((l) => l.startsWith('a=rtpmap')), 'no codec lines in the frag');
check(fl.filter((l) => l === 'a=end-of-candidates').length === 2, 'end-of-candidates per media');

// Session-level credentials (as some stacks write them).
const sessOffer = offer.replace(/a=ice-ufrag:NEWU\r\na=ice-pwd:newpassword0123456789\r\n/g, '')
  .replace('t=0 0\r\n', 't=0 0\r\na=ice-ufrag:SESS\r\na=ice-pwd:sesspwd\r\n');
const sf = buildSdpFrag(sessOffer);
check(sf.split('\r\n').filter((l) => l === 'a=ice-ufrag:SESS').length === 2, 'session-level ufrag copied per media');

// The server's answer to a restart, as signaling/sdpfrag.go writes it.
const serverFrag = [
  'a=ice-ufrag:SRVU', 'a=ice-pwd:serverpwd',
  'm=video 9 UDP/TLS/RTP/SAVPF 96', 'a=mid:0',
  'a=candidate:9 1 udp 2130706431 203.0.113.5 8189 typ host', 'a=end-of-candidates',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'a=mid:1', 'a=end-of-candidates',
].join('\r\n') + '\r\n';
const pf = parseSdpFrag(serverFrag);
check(pf.ufrag === 'SRVU' && pf.pwd === 'serverpwd', 'parsed credentials');
check(pf.media.length === 2 && pf.media[0].mid === '0' && pf.media[0].candidates.length === 1, 'parsed media');
check(pf.media[1].candidates.length === 0 && pf.media[1].end, 'parsed end-of-candidates');

const answer = [
  'v=0', 'o=- 5 6 IN IP4 0.0.0.0', 's=-', 't=0 0', 'a=group:BUNDLE 0 1',
  'm=video 9 UDP/TLS/RTP/SAVPF 96', 'c=IN IP4 0.0.0.0', 'a=setup:active', 'a=mid:0',
  'a=ice-ufrag:OLDU', 'a=ice-pwd:oldpwd', 'a=rtpmap:96 H264/90000', 'a=recvonly',
  'a=candidate:7 1 udp 2130706431 203.0.113.5 8189 typ host', 'a=end-of-candidates',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'c=IN IP4 0.0.0.0', 'a=setup:active', 'a=mid:1',
  'a=ice-ufrag:OLDU', 'a=ice-pwd:oldpwd', 'a=rtpmap:111 opus/48000/2', 'a=recvonly',
  'a=candidate:7 1 udp 2130706431 203.0.113.5 8189 typ host', 'a=end-of-candidates',
].join('\r\n') + '\r\n';
const na = applySdpFrag(answer, pf);
const { session, media } = splitSdp(na);
check(session.includes('a=group:BUNDLE 0 1'), 'answer keeps its session lines');
check(!na.includes('OLDU') && !na.includes('oldpwd'), 'old credentials gone');
check(media[0].includes('a=ice-ufrag:SRVU') && media[1].includes('a=ice-pwd:serverpwd'), 'new credentials in each media');
check(media[0].includes('a=candidate:9 1 udp 2130706431 203.0.113.5 8189 typ host'), 'new candidate in video');
check(!na.includes('a=candidate:7'), 'old candidates gone');
check(media[0].includes('a=rtpmap:96 H264/90000') && media[1].includes('a=recvonly'), 'media lines kept');
check(media[1].filter((l) => l.startsWith('a=candidate:')).length === 0 && media[1].includes('a=end-of-candidates'), 'audio: no candidates, end marker');
check(na.endsWith('\r\n') && !na.includes('\r\n\r\n'), 'well-formed line ends');

// Mid-less fragment: candidates go by position; loose ones to the first media.
const loose = parseSdpFrag('a=ice-ufrag:L\r\na=ice-pwd:P\r\na=candidate:3 1 udp 1 192.0.2.9 9 typ host\r\n');
const la = applySdpFrag(answer, loose);
check(splitSdp(la).media[0].includes('a=candidate:3 1 udp 1 192.0.2.9 9 typ host'), 'loose candidate in first media');
check(splitSdp(la).media[1].includes('a=ice-ufrag:L'), 'loose credentials everywhere');

// Codec order.
const vc = [
  { mimeType: 'video/VP8' },
  { mimeType: 'video/rtx', sdpFmtpLine: 'apt=96' },
  { mimeType: 'video/H264', sdpFmtpLine: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f' },
  { mimeType: 'video/H264', sdpFmtpLine: 'level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f' },
  { mimeType: 'video/H264', sdpFmtpLine: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f' },
  { mimeType: 'video/H264', sdpFmtpLine: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=640c1f' },
  { mimeType: 'video/VP9' },
];
const sorted = preferH264(vc);
check(sorted.length === vc.length, 'no codec dropped');
check(sorted[0] === vc[4] && sorted[1] === vc[3], '42e01f first, packetization-mode=1 before 0');
check(sorted[2] === vc[2] && sorted[3] === vc[5], 'other H.264 next, in order');
check(sorted[4] === vc[0] && sorted[5] === vc[1] && sorted[6] === vc[6], 'rest in order');
const ac = [{ mimeType: 'audio/red' }, { mimeType: 'audio/opus' }, { mimeType: 'audio/PCMU' }];
check(preferOpus(ac)[0] === ac[1] && preferOpus(ac).length === 3, 'opus first');

// Video codec choice.
check(parseVideoCodecChoice('') === 'auto' && parseVideoCodecChoice(null) === 'auto', 'empty choice is auto');
check(parseVideoCodecChoice('VP8') === 'vp8' && parseVideoCodecChoice(' vp8 ') === 'vp8', 'vp8 choice');
check(parseVideoCodecChoice('H.264') === 'h264' && parseVideoCodecChoice('h264') === 'h264', 'h264 choice');
check(parseVideoCodecChoice('av1') === null, 'unknown choice');
const auto = videoCodecsFor(vc, 'auto');
check(auto.length === vc.length && auto.every((c, i) => c === sorted[i]), 'auto is preferH264');
const vcFec = vc.concat([{ mimeType: 'video/red' }, { mimeType: 'video/ulpfec' }]);
const only8 = videoCodecsFor(vcFec, 'vp8');
check(only8.length === 4 && only8[0] === vc[0] && only8[1] === vc[1], 'vp8: VP8 first, then rtx');
check(only8[2] === vcFec[7] && only8[3] === vcFec[8], 'vp8: red and ulpfec kept');
check(!only8.some((c) => /h264|vp9/i.test(c.mimeType)), 'vp8: no other media codec');
const only264 = videoCodecsFor(vc, 'H.264');
check(only264.length === 5 && only264[0] === vc[4] && only264[1] === vc[3] && only264[4] === vc[1], 'h264: H.264 only, preferH264 order, rtx last');
check(!only264.some((c) => /vp8|vp9/i.test(c.mimeType)), 'h264: no other media codec');
check(videoCodecsFor([{ mimeType: 'video/H264' }, { mimeType: 'video/rtx' }], 'vp8') === null, 'vp8 missing: null');
check(videoCodecsFor(vc, 'av1').length === vc.length, 'unknown choice: auto');

// The codec an answer settled on.
const ans = [
  'v=0', 'o=- 5 6 IN IP4 0.0.0.0', 's=-', 't=0 0',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'a=rtpmap:111 opus/48000/2', 'a=fmtp:111 minptime=10;useinbandfec=1',
  'm=video 9 UDP/TLS/RTP/SAVPF 96 97 102', 'a=rtpmap:96 VP8/90000', 'a=rtpmap:97 rtx/90000', 'a=fmtp:97 apt=96',
  'a=rtpmap:102 H264/90000', 'a=fmtp:102 profile-level-id=42e01f',
].join('\r\n') + '\r\n';
const av = answeredCodec(ans, 'video');
check(av && av.name === 'VP8' && av.fmtp === '', 'answered video codec VP8');
const aa = answeredCodec(ans, 'audio');
check(aa && aa.name === 'opus' && aa.fmtp === 'minptime=10;useinbandfec=1', 'answered audio codec opus');
const ah = answeredCodec(ans.replace('96 97 102', '102 96 97'), 'video');
check(ah && ah.name === 'H264' && ah.fmtp === 'profile-level-id=42e01f', 'first payload type wins');
check(answeredCodec(ans.replace('m=video 9', 'm=video 0'), 'video') === null, 'rejected section: null');
check(answeredCodec('v=0\r\n', 'video') === null, 'no section: null');

if (failures) {
  console.error(`sdp: ${failures} checks failed`);
  process.exit(1);
}
console.log('sdp: all checks passed');
