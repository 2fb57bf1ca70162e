// Answer queries with lunr.js over a built site's search/index.js, as the browser does.
// usage: node query.js SITE_DIR < queries.json  ->  [[ref, ...] | {"error": message}, ...]
"use strict";
const fs = require("fs");
const path = require("path");
const vm = require("vm");
const lunr = require(path.join(__dirname, "..", "..", "node_modules", "lunr"));

const site = process.argv[2];
const sandbox = { window: {} };
vm.runInNewContext(fs.readFileSync(path.join(site, "search", "index.js"), "utf8"), sandbox);
const started = process.hrtime.bigint();
const index = lunr.Index.load(sandbox.window.SITEGEN_INDEX);
const loadMs = Number(process.hrtime.bigint() - started) / 1e6;
const queries = JSON.parse(fs.readFileSync(0, "utf8"));
const answers = queries.map((q) => {
  try {
    return index.search(q).map((r) => [r.ref, Math.round(r.score * 1000) / 1000]);
  } catch (e) {
    return { error: e.name + ": " + e.message };
  }
});
process.stdout.write(JSON.stringify({ loadMs, answers }));
