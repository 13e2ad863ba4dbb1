// Clicks on a live chart, resolved where the pointer was pressed. plotly.js works out a click's point at release, from
// the press position but with the axes as they are by then; a live chart rescales its axes as points arrive, so a press
// on epoch 1 released a moment later could land on epoch 2. Here the point under the pointer is read at the press, in
// the frame the person saw, and plotly_click only says that it was a click (not a zoom drag).

// How near a drawn point the press must be to count as pressing it: plotly's own hover distance.
const Radius = 20;

const subscriptions = new WeakMap();

export function subscribe(dotNet, id) {
  const plot = document.getElementById(id);
  if (!plot || subscriptions.has(plot)) {
    return;
  }
  const state = { pressed: null, dotNet };
  const onPress = event => {
    state.pressed = pressedAt(plot, event.clientX, event.clientY);
  };
  // Capture phase: before plotly's own handlers on the drag layer start a drag or a click.
  plot.addEventListener('pointerdown', onPress, true);
  subscriptions.set(plot, { state, onPress });

  // plotly.js gives the element its .on() in newPlot, which waits for plotly.js to load.
  const attach = () => {
    if (!plot.isConnected || subscriptions.get(plot)?.state !== state) {
      return;
    }
    if (typeof plot.on !== 'function') {
      setTimeout(attach, 50);
      return;
    }
    plot.on('plotly_click', () => {
      const pressed = state.pressed;
      state.pressed = null;
      if (pressed && state.dotNet) {
        // The chart may be gone by the time the call lands (the page navigated); nothing is left to tell.
        state.dotNet.invokeMethodAsync('OnChartClicked', pressed.point, pressed.x).catch(() => {});
      }
    });
  };
  attach();
}

export function unsubscribe(id) {
  const plot = document.getElementById(id);
  const subscription = plot && subscriptions.get(plot);
  if (subscription) {
    plot.removeEventListener('pointerdown', subscription.onPress, true);
    // plotly.js offers no way to remove the one plotly_click handler; without a target it does nothing.
    subscription.state.dotNet = null;
    subscriptions.delete(plot);
  }
}

// The x (in data units) under a press, and the drawn point nearest it within Radius pixels: the topmost (latest trace)
// on a tie, since that is the one drawn over the others (a checkpoint marker over its curve's point).
function pressedAt(plot, clientX, clientY) {
  const layout = plot._fullLayout;
  const area = plot.querySelector('.nsewdrag');
  if (!layout || !layout.xaxis || !area) {
    return null;
  }
  const box = area.getBoundingClientRect();
  const px = clientX - box.left;
  const py = clientY - box.top;
  if (px < 0 || py < 0 || px > box.width || py > box.height) {
    return null;
  }

  let point = null;
  let nearest = Radius;
  (plot._fullData ?? []).forEach(trace => {
    const xa = layout[axisKey(trace.xaxis, 'x')];
    const ya = layout[axisKey(trace.yaxis, 'y')];
    if (trace.visible !== true || !xa || !ya || !trace.x || !trace.y) {
      return;
    }
    const count = Math.min(trace.x.length, trace.y.length);
    for (let i = 0; i < count; i++) {
      const x = Number(trace.x[i]);
      const y = trace.y[i];
      if (y === null || y === undefined || !Number.isFinite(x) || !Number.isFinite(Number(y))) {
        continue;
      }
      const distance = Math.hypot(xa.c2p(x) - px, ya.c2p(Number(y)) - py);
      if (distance <= nearest) {
        nearest = distance;
        point = { traceIndex: trace.index, pointIndex: i, x };
      }
    }
  });
  return { point, x: layout.xaxis.p2c(px) };
}

// 'x' → 'xaxis', 'y2' → 'yaxis2'.
function axisKey(name, fallback) {
  const axis = name || fallback;
  return axis.charAt(0) + 'axis' + axis.slice(1);
}
