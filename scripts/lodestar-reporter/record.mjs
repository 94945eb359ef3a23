// Runs Lodestar's own client-stats reporter (MonitoringService from
// @lodestar/beacon-node/lib/monitoring, loaded unchanged from npm) against a loopback
// HTTP receiver and writes every POST body it receives, byte for byte, to
// fixtures/reporters/lodestar/post-N.json (request line and headers beside it in
// post-N.request.txt, a summary in manifest.json).
//
// The Prometheus registries handed to the reporter are built the way Lodestar 1.44.0
// builds them, from Lodestar's own metric definitions where npm has them:
//   beacon node:  RegistryMetricCreator + createBeaconMetrics + createLodestarMetrics
//                 + collectNodeJSMetrics (lib/metrics/metrics.js createMetrics() minus the
//                 fork-choice and state-transition metrics, which the reporter never reads),
//                 MonitoringService("beacon", ...) as lib/node/nodejs.js constructs it
//                 (collectSystemStats defaults to true there).
//   network:      libp2p and peer metrics live in a registry of their own (the network
//                 worker's, or with network.useWorker=false a `new RegistryMetricCreator()`
//                 in lib/network/network.js); the reporter never sees it. Scenario
//                 "beacon-libp2p-in-main-registry" shows the fields as they were when
//                 libp2p used the main registry (Lodestar before v1.9.0).
//   validator:    RegistryMetricCreator + collectNodeJSMetrics + the two metrics the
//                 reporter reads from @lodestar/validator's getMetrics() (lodestar_version,
//                 vc_indices_count, re-declared here with the same names, help and labels
//                 because @lodestar/validator@1.44.0 is not on this registry),
//                 MonitoringService("validator", ...) as @chainsafe/lodestar's
//                 cmds/validator/handler.js constructs it (collectSystemStats false).
//
// Usage: node record.mjs [--out DIR]   (default DIR: ../../fixtures/reporters/lodestar)

import fs from "node:fs/promises";
import http from "node:http";
import path from "node:path";
import {fileURLToPath, pathToFileURL} from "node:url";

import {MonitoringService} from "@lodestar/beacon-node/monitoring";

const here = path.dirname(fileURLToPath(import.meta.url));
const outArg = process.argv.indexOf("--out");
const outDir = path.resolve(
  outArg > 0 ? process.argv[outArg + 1] : path.join(here, "..", "..", "fixtures", "reporters", "lodestar")
);

// Lodestar's metric definition files are not exported subpaths of @lodestar/beacon-node,
// so load them by file from the installed package (they import only prom-client).
const monitoringIndex = fileURLToPath(import.meta.resolve("@lodestar/beacon-node/monitoring"));
const bnLib = path.resolve(path.dirname(monitoringIndex), "..");
const load = (rel) => import(pathToFileURL(path.join(bnLib, rel)).href);
const {RegistryMetricCreator} = await load("metrics/utils/registryMetricCreator.js");
const {createBeaconMetrics} = await load("metrics/metrics/beacon.js");
const {createLodestarMetrics} = await load("metrics/metrics/lodestar.js");
const {collectNodeJSMetrics} = await load("metrics/nodeJsMetrics.js");
const {createNetworkCoreMetrics} = await load("network/core/metrics.js");
const {SyncState, syncStateMetric} = await load("sync/interface.js");
const {prometheusMetrics} = await import("@libp2p/prometheus-metrics");

const bnPackage = JSON.parse(await fs.readFile(path.join(bnLib, "..", "package.json"), "utf8"));

// What `lodestar beacon` / `lodestar validator` 1.44.0 from npm put in lodestar_version:
// cli/lib/util/version.js getVersionData() = `v${package version}/${commit.slice(0, 7)}`
// (branch "HEAD" is ignored), commit from @chainsafe/lodestar@1.44.0's .git-data.json.
const LODESTAR_COMMIT = "e3d733b7b5107122ff90fc89021a9ab404198c39";
const gitData = {
  version: `v${bnPackage.version}/${LODESTAR_COMMIT.slice(0, 7)}`,
  commit: LODESTAR_COMMIT,
  network: "mainnet",
};

// Mainnet clock: a synced node's head is the current slot.
const MAINNET_GENESIS_TIME = 1606824023;
const SECONDS_PER_SLOT = 12;
const clockSlot = () => Math.floor((Date.now() / 1000 - MAINNET_GENESIS_TIME) / SECONDS_PER_SLOT);

const INTERVAL_MS = 1500;
const POSTS_PER_SCENARIO = 2;

const logger = {
  error: (msg, ctx, err) => console.error("error:", msg, ctx ?? "", err ?? ""),
  warn: (msg, ctx) => console.error("warn:", msg, ctx ?? ""),
  info: (msg, ctx) => console.error("info:", msg, ctx ?? ""),
  verbose: () => {},
  debug: () => {},
};

const libp2pComponents = {
  logger: {
    forComponent: () => Object.assign(() => {}, {error: () => {}, trace: () => {}, enabled: false}),
  },
};

// ---- the receiver: 127.0.0.1, random port, keeps every body byte for byte ----
const received = [];
let onPost = null;
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    received.push({method: req.method, url: req.url, httpVersion: req.httpVersion, rawHeaders: req.rawHeaders, body: Buffer.concat(chunks)});
    res.on("finish", () => onPost?.());
    res.writeHead(200, {"content-type": "application/json"});
    res.end("{}");
  });
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const port = server.address().port;
console.error(`receiver listening on 127.0.0.1:${port}`);

function waitForPosts(n) {
  return new Promise((resolve) => {
    const start = received.length;
    onPost = () => {
      if (received.length - start >= n) {
        onPost = null;
        resolve();
      }
    };
  });
}

async function runScenario(name, client, options, register) {
  const endpoint = `http://127.0.0.1:${port}/api/v1/client/metrics?apikey=nodepulse-test-key&machine=${name}`;
  const first = received.length;
  const done = waitForPosts(POSTS_PER_SCENARIO);
  const service = new MonitoringService(client, {endpoint, initialDelay: 200, interval: INTERVAL_MS, ...options}, {register, logger});
  await done;
  // let the reporter read the 200 before close() (close aborts a request still pending)
  await new Promise((resolve) => setTimeout(resolve, 300));
  await service.close();
  return received.slice(first).map((r) => ({scenario: name, client, options, ...r}));
}

// prom-client's process_cpu_*_seconds_total count from collectDefaultMetrics() on (they
// add process.cpuUsage() deltas), so spend some user-mode CPU after registering them,
// as a running node would; otherwise a fresh process reports 0.
function burnCpu(ms) {
  const until = Date.now() + ms;
  let sink = 0;
  while (Date.now() < until) sink += Math.sqrt(sink + 1);
  return sink;
}

// A synced beacon node's registry as Lodestar builds it: its beacon and lodestar metrics, the
// Node.js collectors, and `executionUrls` configured execution clients.
function syncedBeaconNode(executionUrls) {
  const register = new RegistryMetricCreator();
  const beacon = createBeaconMetrics(register);
  const lodestar = createLodestarMetrics(register, gitData, MAINNET_GENESIS_TIME);
  const closeNodeJs = collectNodeJSMetrics(register);
  beacon.headSlot.addCollect(() => beacon.headSlot.set(clockSlot()));
  lodestar.syncStatus.set(syncStateMetric[SyncState.Synced]);
  lodestar.executionEnginerHttpClient.configUrlsCount.set(executionUrls);
  lodestar.db.dbSizeTotal.set(183_106_521_088);
  return {register, closeNodeJs};
}

const recorded = [];

// ---- 1. beacon node as `lodestar beacon` 1.44.0 builds it (network in its own registry) ----
{
  const {register, closeNodeJs} = syncedBeaconNode(1); // one --execution.urls

  // The network's registry (the network worker's, or `new RegistryMetricCreator()` in
  // lib/network/network.js without the worker) holds libp2p_peers and the libp2p
  // traffic counters; MonitoringService is given only `metrics.register`
  // (lib/node/nodejs.js), so it never reads them: 87 peers here, 0 in the body.
  const networkRegister = new RegistryMetricCreator();
  createNetworkCoreMetrics(networkRegister).peers.set(87);
  burnCpu(1500);

  recorded.push(...(await runScenario("lodestar-beacon", "beacon", {}, register)));
  closeNodeJs();
}

// ---- 2. validator client as `lodestar validator` 1.44.0 builds it ----
{
  const register = new RegistryMetricCreator();
  const closeNodeJs = collectNodeJSMetrics(register);
  register.gauge({name: "lodestar_version", help: "Lodestar version", labelNames: Object.keys(gitData)}).set(gitData, 1);
  const indices = register.gauge({name: "vc_indices_count", help: "Current count of indices in IndicesService"});
  // IndicesService: index2pubkey.size, every local key the beacon state knows an index for
  indices.addCollect(() => indices.set(12));
  burnCpu(1500);

  recorded.push(...(await runScenario("lodestar-validator", "validator", {collectSystemStats: false}, register)));
  closeNodeJs();
}

// ---- 3. beacon node with libp2p metrics in the main registry (Lodestar before v1.9.0) ----
{
  const {register, closeNodeJs} = syncedBeaconNode(2); // a fallback EL URL too
  createNetworkCoreMetrics(register).peers.set(87);
  // @libp2p/prometheus-metrics as lib/network/libp2p/index.js configures it; its
  // _track(connection, "global") adds every byte under "global received"/"global sent".
  const libp2pMetrics = prometheusMetrics({collectDefaultMetrics: false, preserveExistingMetrics: true, registry: register})(libp2pComponents);
  libp2pMetrics._incrementValue("global received", 912_345_678_901);
  libp2pMetrics._incrementValue("global sent", 655_432_109_876);
  burnCpu(1500);

  recorded.push(...(await runScenario("lodestar-beacon-libp2p-in-main-registry", "beacon", {}, register)));
  closeNodeJs();
}

server.close();

// ---- write what was received ----
await fs.mkdir(outDir, {recursive: true});
for (const f of await fs.readdir(outDir)) {
  if (/^post-\d+\.(json|request\.txt)$/.test(f) || f === "manifest.json") await fs.rm(path.join(outDir, f));
}
const manifest = {
  reporter: `@lodestar/beacon-node@${bnPackage.version} lib/monitoring (MonitoringService), unchanged`,
  node: process.version,
  platform: `${process.platform}-${process.arch}`,
  recorded_at: new Date().toISOString(),
  lodestar_version_metric: gitData,
  posts: [],
};
for (const [i, r] of recorded.entries()) {
  const n = i + 1;
  await fs.writeFile(path.join(outDir, `post-${n}.json`), r.body);
  const headerLines = [];
  for (let h = 0; h < r.rawHeaders.length; h += 2) headerLines.push(`${r.rawHeaders[h]}: ${r.rawHeaders[h + 1]}`);
  await fs.writeFile(
    path.join(outDir, `post-${n}.request.txt`),
    `${r.method} ${r.url} HTTP/${r.httpVersion}\n${headerLines.join("\n")}\n`
  );
  const parsed = JSON.parse(r.body.toString("utf8"));
  manifest.posts.push({
    file: `post-${n}.json`,
    scenario: r.scenario,
    monitoring_client: r.client,
    options: r.options,
    bytes: r.body.length,
    processes: parsed.map((o) => o.process),
  });
  console.error(`post-${n}.json  ${r.scenario}  ${parsed.map((o) => o.process).join("+")}  ${r.body.length} bytes`);
}
await fs.writeFile(path.join(outDir, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
console.error(`wrote ${recorded.length} bodies to ${outDir}`);
process.exit(0);
