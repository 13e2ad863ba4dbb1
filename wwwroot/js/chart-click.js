// Clicks on a live chart, resolved where the pointer was pressed. plotly.js works out a click's point at release, from
// the press position but with the axes as they are by then; a live chart rescales its axes as points arrive, so a press
// on epoch 1 released a moment later could land on epoch 2. Here the point under the pointer is read at the press, in
// the frame the person saw, and plotly_click only says that it was a click (not a zoom drag).

// How near a drawn point the press must be to count as pressing it: plotly's own hover distance.
const Radius = 20;

// Charts that asked for clicks, by element id: the .NET side to tell, and the press being held.
const charts = new Map();
let listening = false;

export function subscribe(dotNet, id) {
  charts.set(id, { dotNet, pressed: null, onClick: null });
  if (!listening) {
    // On the document, in the capture phase: before plotly's own handlers on the drag layer start a drag or a click,
    // and whatever element the chart's id names at the moment of the press.
    document.addEventListener('pointerdown', onPress, true);
    listening = true;
  }
  // Says that a click will be heard: the module loads after the plot is drawn, and a press before then does nothing.
  document.getElementById(id)?.setAttribute('data-clicks', 'ready');
}

export function unsubscribe(id) {
  const chart = charts.get(id);
  if (chart) {
    chart.dotNet = null;
    charts.delete(id);
  }
}

function onPress(event) {
  const plot = event.target instanceof Element ? event.target.closest('.js-plotly-plot') : null;
  const chart = plot ? charts.get(plot.id) : undefined;
  if (!chart || typeof plot.on !== 'function') {
    return;
  }
  chart.pressed = pressedAt(plot, event.clientX, event.clientY);

  // Attached at each press to the plot as it is now: plotly.js drops every listener when it draws a plot anew.
  if (chart.onClick) {
    plot.removeListener('plotly_click', chart.onClick);
  }
  chart.onClick = () => {
    const pressed = chart.pressed;
    chart.pressed = null;
    if (pressed && chart.dotNet) {
      chart.dotNet.invokeMethodAsync('OnChartClicked', pressed.point, pressed.x)
        .catch(error => console.warn('A click on the chart did not reach the page:', error));
    }
  };
  plot.on('plotly_click', chart.onClick);
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
