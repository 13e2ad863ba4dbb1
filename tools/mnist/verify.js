#!/usr/bin/env node
// Sanity check for data/mnist/mnist.bin.gz (format: see convert.js / data/mnist/README.md).
// Decompresses it, checks magic and sizes, prints the label histogram and an
// ASCII rendering of the first 3 images (and, because the file is grouped by
// digit so those are all zeros, the first image of 2, 4 and 7 to show the
// orientation with asymmetric digits).
//
// Usage: node verify.js [path/to/mnist.bin.gz]   (needs no npm install)
'use strict';

const fs = require('fs');
const path = require('path');
const zlib = require('zlib');
const crypto = require('crypto');

const file = process.argv[2] || path.resolve(__dirname, '..', '..', 'data', 'mnist', 'mnist.bin.gz');

function fail(msg) {
  console.error('verify: FAIL: ' + msg);
  process.exit(1);
}

const gz = fs.readFileSync(file);
if (gz[0] !== 0x1f || gz[1] !== 0x8b) fail('not a gzip file');
if (gz[3] !== 0) fail('gzip header flags set (file name or comment stored)');
if (gz.readUInt32LE(4) !== 0) fail('gzip mtime is not 0');
const buf = zlib.gunzipSync(gz);

if (buf.length < 16) fail('too short');
const magic = buf.toString('ascii', 0, 4);
if (magic !== 'MNS1') fail(`bad magic ${JSON.stringify(magic)}`);
const n = buf.readUInt32LE(4);
const rows = buf.readUInt32LE(8);
const cols = buf.readUInt32LE(12);
if (rows !== 28 || cols !== 28) fail(`unexpected size ${rows}x${cols}`);
const size = rows * cols;
const expected = 16 + n * size + n;
if (buf.length !== expected) fail(`length ${buf.length}, expected ${expected} for N=${n}`);

const pixOff = 16;
const labOff = 16 + n * size;
const hist = new Array(10).fill(0);
for (let i = 0; i < n; i++) {
  const l = buf[labOff + i];
  if (l > 9) fail(`label #${i} = ${l}`);
  hist[l]++;
}

const sha = (b) => crypto.createHash('sha256').update(b).digest('hex');
console.log(`file     ${file}`);
console.log(`gzip     ${gz.length} bytes, sha256 ${sha(gz)}`);
console.log(`payload  ${buf.length} bytes, sha256 ${sha(buf)}`);
console.log(`magic    ${magic}, N=${n}, rows=${rows}, cols=${cols}`);
console.log(`labels   ${hist.map((c, d) => `${d}:${c}`).join(' ')}`);

const RAMP = ' .:-=+*#%@';
function render(indices) {
  const heads = indices.map((i) => `#${i} label ${buf[labOff + i]}`.padEnd(cols));
  const lines = [heads.join('  ')];
  for (let r = 0; r < rows; r++) {
    const parts = indices.map((i) => {
      let s = '';
      for (let c = 0; c < cols; c++) {
        const v = buf[pixOff + i * size + r * cols + c];
        s += RAMP[Math.min(RAMP.length - 1, Math.floor(v * RAMP.length / 256))];
      }
      return s;
    });
    lines.push(parts.join('  ').replace(/\s+$/, ''));
  }
  console.log(lines.join('\n'));
}

console.log('\nfirst 3 images:');
render([0, 1, 2]);

const firstOf = (d) => {
  for (let i = 0; i < n; i++) if (buf[labOff + i] === d) return i;
  return -1;
};
const extra = [2, 4, 7].map(firstOf).filter((i) => i >= 0);
if (extra.length) {
  console.log('\nfirst image of labels 2, 4, 7 (orientation check):');
  render(extra);
}
console.log('\nverify: OK');
