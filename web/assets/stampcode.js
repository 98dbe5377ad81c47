// stampcode.js — a wall-clock time stamp as a row of black and white blocks,
// drawn into video frames by the clock test source (clock.js) and read back
// by the latency meter (latency.js). Pure functions, no imports: node runs
// stampcode.test.mjs against this file.
//
// Code: 44 blocks, 1 = white, 0 = black, left to right:
//   [0]      start guard, always 1
//   [1..41]  the time stamp (ms since the epoch), 41 bits, MSB first
//   [42]     parity: the data bits plus this bit hold an odd number of 1s
//   [43]     stop guard, always 0
// 41 bits hold times until 2039-09-07.
//
// Geometry (codeGeometry): the row sits in the top sixth of the frame on a
// mid-grey band; each block is width/48 wide, with two blocks of margin on
// either side, and 60 % of the band high. Positions are proportions of the
// frame, so the code survives scaling as long as the aspect ratio is kept.

export const BLOCKS = 44;
export const DATA_BITS = 41;
export const MAX_STAMP = 2 ** DATA_BITS - 1;

/** Bits (array of 0/1, length BLOCKS) for a time stamp in ms. */
export function encodeStamp(ms) {
  if (!Number.isInteger(ms) || ms < 0 || ms > MAX_STAMP) {
    throw new RangeError(`stamp out of range: ${ms}`);
  }
  const bits = [1];
  let ones = 0;
  for (let i = DATA_BITS - 1; i >= 0; i--) {
    const b = Math.floor(ms / 2 ** i) % 2;
    ones += b;
    bits.push(b);
  }
  bits.push(ones % 2 === 0 ? 1 : 0, 0);
  return bits;
}

/** The time stamp in ms that bits carry, or null if they are not a valid code. */
export function decodeStamp(bits) {
  if (!bits || bits.length !== BLOCKS) return null;
  const b = Array.from(bits, (x) => (x === 1 || x === true ? 1 : x === 0 || x === false ? 0 : -1));
  if (b.includes(-1) || b[0] !== 1 || b[BLOCKS - 1] !== 0) return null;
  let ms = 0;
  let ones = 0;
  for (let i = 1; i <= DATA_BITS; i++) {
    ms = ms * 2 + b[i];
    ones += b[i];
  }
  if ((ones + b[DATA_BITS + 1]) % 2 !== 1) return null;
  return ms;
}

/**
 * Where the code lies in a width × height frame:
 * {band: height of the grey band, x0: left edge of block 0, bw: block width,
 *  y0, bh: top and height of the blocks, cy: their vertical centre,
 *  centre(i): x of the centre of block i}.
 */
export function codeGeometry(width, height) {
  const band = height / 6;
  const bw = width / 48;
  const x0 = 2 * bw;
  const y0 = band * 0.2;
  const bh = band * 0.6;
  return { band, bw, x0, y0, bh, cy: y0 + bh / 2, centre: (i) => x0 + (i + 0.5) * bw };
}
