#!/usr/bin/env bash
# Screenshots a run's live page while it trains, into tools/screenshot/run-in-progress.png.
#
# Builds nothing: run `dotnet build Dashboard.sln` first. It uses the web app's build output and the Playwright driver
# (node + playwright-core) that the end-to-end test project's build carries, with Debian's Chromium.
#
# Starts the dashboard on a free loopback port with a temporary data folder, starts a CNN run over the API, opens
# /runs/{id} in headless Chromium, waits until the chart holds at least WAIT_EPOCHS epochs while the run still trains,
# takes the picture, then stops the run and the app.
#
# Environment: CONFIGURATION (Debug), CHROMIUM (/usr/bin/chromium), EPOCHS (8), WAIT_EPOCHS (3), OUT (the PNG path).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
configuration=${CONFIGURATION:-Debug}
web_dll="$repo/src/Dashboard.Web/bin/$configuration/net10.0/Dashboard.Web.dll"
playwright="$repo/tests/Dashboard.EndToEndTests/bin/$configuration/net10.0/.playwright"
node="$playwright/node/linux-x64/node"
chromium=${CHROMIUM:-/usr/bin/chromium}
epochs=${EPOCHS:-8}
wait_epochs=${WAIT_EPOCHS:-3}
out=${OUT:-$repo/tools/screenshot/run-in-progress.png}

fail() { echo "screenshot.sh: $*" >&2; exit 1; }
[[ -f "$web_dll" ]] || fail "$web_dll is missing: build first (dotnet build Dashboard.sln)."
[[ -x "$node" && -d "$playwright/package" ]] || fail "Playwright's driver is missing under $playwright: build tests/Dashboard.EndToEndTests."
[[ -x "$chromium" ]] || fail "$chromium is missing: install Debian's chromium: apt-get install chromium."
command -v curl > /dev/null || fail "curl is needed."
(( wait_epochs < epochs )) || fail "WAIT_EPOCHS ($wait_epochs) must be below EPOCHS ($epochs), or the run is over before the picture."

# Reads one field of the JSON on stdin, with the node that ships with Playwright (no jq needed).
json_field() { "$node" -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const v=JSON.parse(s)[process.argv[1]];console.log(v===null||v===undefined?"":v)})' "$1"; }

port=$("$node" -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
base="http://127.0.0.1:$port"
work=$(mktemp -d -t dashboard-screenshot-XXXXXX)
app_pid=""

cleanup() {
  if [[ -n "$app_pid" ]] && kill -0 "$app_pid" 2> /dev/null; then
    kill -TERM "$app_pid" 2> /dev/null || true
    for _ in $(seq 1 150); do kill -0 "$app_pid" 2> /dev/null || break; sleep 0.1; done
    kill -KILL "$app_pid" 2> /dev/null || true
    wait "$app_pid" 2> /dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "Starting the dashboard on $base (data in $work/data)"
(cd "$work" && Storage__DataDirectory="$work/data" Training__Device=cpu exec dotnet "$web_dll" --urls "$base") > "$work/app.log" 2>&1 &
app_pid=$!

for _ in $(seq 1 600); do
  curl -fsS -o /dev/null "$base/healthz" 2> /dev/null && break
  kill -0 "$app_pid" 2> /dev/null || { cat "$work/app.log" >&2; fail "the dashboard exited during start-up."; }
  sleep 0.1
done
curl -fsS -o /dev/null "$base/healthz" || { cat "$work/app.log" >&2; fail "the dashboard did not answer /healthz within 60 s."; }

run=$(curl -fsS -X POST "$base/api/runs" -H 'content-type: application/json' \
  -d "{\"name\":\"cnn-live-screenshot\",\"dataset\":\"mnist\",\"model\":\"cnn\",\"epochs\":$epochs,\"batchSize\":64,\"learningRate\":0.001,\"optimizer\":\"adam\",\"seed\":42}")
run_id=$(json_field id <<< "$run")
echo "Started run $run_id ($epochs epochs of the MNIST CNN)"

# The browser opens the page at once and watches the points arrive live; the picture is taken at WAIT_EPOCHS.
status=0
NODE_PATH="$playwright" "$node" - "$playwright/package" "$chromium" "$base/runs/$run_id" "$wait_epochs" "$out" << 'NODE' || status=$?
const [packagePath, executablePath, url, waitEpochs, out] = process.argv.slice(2);
const { chromium } = require(packagePath);
(async () => {
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
           '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    await page.goto(url);
    await page.waitForFunction(n => {
      const plot = document.querySelector('.js-plotly-plot');
      const loss = plot && Array.isArray(plot.data) && plot.data.find(t => t.name === 'loss');
      return loss && loss.x.length >= n && document.querySelector('.progress-bar');
    }, Number(waitEpochs), { timeout: 240000, polling: 100 });
    // The bar animates its width; wait until it is well into an epoch and has caught up with the label, so the
    // picture shows a settled bar rather than one sweeping back from the previous epoch's 100 %.
    await page.waitForFunction(() => {
      const track = document.querySelector('.progress');
      const bar = document.querySelector('.progress-bar');
      if (!track || !bar) return true; // the run ended; reported below
      const wanted = Number(track.getAttribute('aria-valuenow'));
      const drawn = 100 * bar.getBoundingClientRect().width / track.getBoundingClientRect().width;
      return wanted >= 25 && wanted <= 90 && Math.abs(drawn - wanted) < 3;
    }, null, { timeout: 60000, polling: 50 });
    const status = await page.getAttribute('.page-head [data-status]', 'data-status');
    if (status !== 'running') {
      console.error(`The run is ${status}, not running, by the time ${waitEpochs} epochs are drawn.`);
      process.exitCode = 2;
    }
    await page.screenshot({ path: out, fullPage: true });
    const points = await page.evaluate(() => document.querySelector('.js-plotly-plot').data.map(t => `${t.name}=${t.x.length}`).join(' '));
    console.log(`Saved ${out} (status ${status}; ${points})`);
  } finally {
    await browser.close();
  }
})().catch(e => { console.error(e); process.exit(1); });
NODE

curl -fsS -o /dev/null -X POST "$base/api/runs/$run_id/stop" || true
(( status == 0 )) || { tail -n 40 "$work/app.log" >&2; fail "no screenshot of a running run (exit $status)."; }
