// Plotly's `responsive` option follows the window only. A chart whose column narrows without the window changing (the
// checkpoint panel opening beside it) would keep its old width and lie over the panel's buttons, so each frame is
// watched and its plot resized to fit, at most once per animation frame.
const observers = new WeakMap();

export function observe(frame) {
  if (!frame || observers.has(frame)) {
    return;
  }
  let pending = false;
  const observer = new ResizeObserver(() => {
    if (pending) {
      return;
    }
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      const plot = frame.querySelector('.js-plotly-plot');
      if (plot && window.Plotly && plot.offsetParent !== null) {
        // A plot removed between the callback and the frame rejects; the next one is drawn at the right width anyway.
        Promise.resolve(window.Plotly.Plots.resize(plot)).catch(() => {});
      }
    });
  });
  observer.observe(frame);
  observers.set(frame, observer);
}

export function unobserve(frame) {
  observers.get(frame)?.disconnect();
  observers.delete(frame);
}

// The width of a chart's frame in CSS pixels: how many buckets of steps are worth asking the server for.
export function width(frame) {
  return frame ? Math.round(frame.getBoundingClientRect().width) : 0;
}
