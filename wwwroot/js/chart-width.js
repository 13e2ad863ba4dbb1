// The width of a chart's frame in CSS pixels: how many buckets of steps are worth asking the server for.
export function width(element) {
  return element ? Math.round(element.getBoundingClientRect().width) : 0;
}
