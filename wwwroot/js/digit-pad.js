// A drawing pad for one digit: thick white strokes on black, read back as 28×28 pixels in [0, 1] like MNIST.
const pads = new WeakMap();

export function attach(canvas) {
  const ctx = canvas.getContext('2d');
  clear(canvas);
  let drawing = false;
  const point = (e) => {
    const r = canvas.getBoundingClientRect();
    return [(e.clientX - r.left) * canvas.width / r.width, (e.clientY - r.top) * canvas.height / r.height];
  };
  const down = (e) => { drawing = true; const [x, y] = point(e); ctx.beginPath(); ctx.moveTo(x, y); e.preventDefault(); };
  const move = (e) => {
    if (!drawing) return;
    const [x, y] = point(e);
    ctx.lineTo(x, y);
    ctx.stroke();
    e.preventDefault();
  };
  const up = () => { drawing = false; };
  canvas.addEventListener('pointerdown', down);
  canvas.addEventListener('pointermove', move);
  window.addEventListener('pointerup', up);
  pads.set(canvas, () => window.removeEventListener('pointerup', up));
}

export function clear(canvas) {
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#000';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.strokeStyle = '#fff';
  ctx.lineWidth = canvas.width / 11;
  ctx.lineCap = 'round';
  ctx.lineJoin = 'round';
}

// MNIST digits sit in a 20×20 box centred in 28×28; scaling the drawn bounding box the same way helps the model.
export function read(canvas) {
  const ctx = canvas.getContext('2d');
  const { width, height } = canvas;
  const data = ctx.getImageData(0, 0, width, height).data;
  let minX = width, minY = height, maxX = -1, maxY = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (data[(y * width + x) * 4] > 32) {
        minX = Math.min(minX, x); maxX = Math.max(maxX, x); minY = Math.min(minY, y); maxY = Math.max(maxY, y);
      }
    }
  }
  const small = document.createElement('canvas');
  small.width = 28; small.height = 28;
  const sctx = small.getContext('2d');
  sctx.fillStyle = '#000';
  sctx.fillRect(0, 0, 28, 28);
  if (maxX >= 0) {
    const w = maxX - minX + 1, h = maxY - minY + 1, scale = 20 / Math.max(w, h);
    sctx.imageSmoothingQuality = 'high';
    sctx.drawImage(canvas, minX, minY, w, h, (28 - w * scale) / 2, (28 - h * scale) / 2, w * scale, h * scale);
  }
  const pixels = sctx.getImageData(0, 0, 28, 28).data;
  const out = new Array(784);
  for (let i = 0; i < 784; i++) out[i] = pixels[i * 4] / 255;
  return out;
}

export function detach(canvas) {
  pads.get(canvas)?.();
  pads.delete(canvas);
}
