// stats.js — what the player shows of a WebRTC connection: getStats()
// reduced to the figures the pages display, and their formatting. whep.js
// re-exports these.

/**
 * Reduces an RTCStatsReport to
 * {time, width, height, fps, framesDecoded, videoBytes, audioBytes,
 *  audioPackets, videoPackets, packetsReceived, lost, lossRatio, rtt (s),
 *  freezeCount, videoBitrate, audioBitrate (bit/s), codec, srtpCipher}.
 * Rates need `prev`, the previous result for the same connection.
 */
export function parseStats(report, prev, video) {
  let v = null, a = null, pair = null, remoteRtt = null, srtpCipher = null;
  report.forEach((r) => {
    const kind = r.kind || r.mediaType;
    if (r.type === 'inbound-rtp' && !r.isRemote) {
      if (kind === 'video' && (!v || (r.bytesReceived || 0) > (v.bytesReceived || 0))) v = r;
      if (kind === 'audio' && (!a || (r.bytesReceived || 0) > (a.bytesReceived || 0))) a = r;
    } else if (r.type === 'transport' && r.selectedCandidatePairId) {
      pair = report.get(r.selectedCandidatePairId) || pair;
      srtpCipher = r.srtpCipher || srtpCipher;
    } else if (r.type === 'candidate-pair' && r.selected && !pair) {
      pair = r; // Firefox
    } else if ((r.type === 'remote-inbound-rtp' || r.type === 'remote-outbound-rtp') &&
               typeof r.roundTripTime === 'number') {
      remoteRtt = r.roundTripTime;
    }
  });
  if (!pair) {
    report.forEach((r) => {
      if (!pair && r.type === 'candidate-pair' && r.nominated && r.state === 'succeeded') pair = r;
    });
  }

  const time = performance.now();
  const videoPackets = (v && v.packetsReceived) || 0;
  const audioPackets = (a && a.packetsReceived) || 0;
  const lost = Math.max(0, ((v && v.packetsLost) || 0) + ((a && a.packetsLost) || 0));
  const codec = v && v.codecId && report.get(v.codecId);
  const s = {
    time,
    width: (v && v.frameWidth) || (video && video.videoWidth) || null,
    height: (v && v.frameHeight) || (video && video.videoHeight) || null,
    fps: v && typeof v.framesPerSecond === 'number' ? v.framesPerSecond : null,
    framesDecoded: v && typeof v.framesDecoded === 'number' ? v.framesDecoded : null,
    videoBytes: (v && v.bytesReceived) || 0,
    audioBytes: (a && a.bytesReceived) || 0,
    audioPackets,
    videoPackets,
    packetsReceived: videoPackets + audioPackets,
    lost,
    lossRatio: lost + videoPackets + audioPackets > 0 ? lost / (lost + videoPackets + audioPackets) : 0,
    rtt: pair && typeof pair.currentRoundTripTime === 'number' ? pair.currentRoundTripTime : remoteRtt,
    freezeCount: v && typeof v.freezeCount === 'number' ? v.freezeCount : null,
    videoBitrate: null,
    audioBitrate: null,
    codec: codec && codec.mimeType ? codec.mimeType.replace(/^video\//i, '').toLowerCase() : null,
    srtpCipher,
  };
  const dt = prev ? (time - prev.time) / 1000 : 0;
  if (dt > 0) {
    s.videoBitrate = Math.max(0, ((s.videoBytes - prev.videoBytes) * 8) / dt);
    s.audioBitrate = Math.max(0, ((s.audioBytes - prev.audioBytes) * 8) / dt);
    if (s.fps == null && s.framesDecoded != null && prev.framesDecoded != null) {
      s.fps = Math.max(0, (s.framesDecoded - prev.framesDecoded) / dt);
    }
  }
  return s;
}

/** Formats bits per second: "2.50 Mb/s", "96 kb/s". */
export function formatBitrate(bps) {
  if (bps == null || !isFinite(bps)) return '–';
  if (bps >= 1e6) return `${(bps / 1e6).toFixed(2)} Mb/s`;
  return `${Math.round(bps / 1e3)} kb/s`;
}

/** Formats seconds as "1:02:03" or "2:03". */
export function formatDuration(sec) {
  if (sec == null || !isFinite(sec) || sec < 0) return '–';
  sec = Math.floor(sec);
  const h = Math.floor(sec / 3600), m = Math.floor((sec % 3600) / 60), s = sec % 60;
  const mm = h ? String(m).padStart(2, '0') : String(m);
  return `${h ? h + ':' : ''}${mm}:${String(s).padStart(2, '0')}`;
}
