// Answer queries with lunr.js over built search files, as the browser does (shards are
// expanded by the site's own static/lunr-shard.js).
//   node query.js --expand SHARD_FILE      the shard as lunr JSON, as the browser gives it to lunr.Index.load
//   node query.js SHARD_FILE < queries.json
//       lunr's own answers from one shard: {loadMs, answers: [[[ref, score], ...] | {error}, ...]}
//   node query.js --merged SITE_DIR [ONE_INDEX.json] < queries.json
//       every shard of the site, merged as static/search.js merges them (lunr's score without the
//       division by the query vector's length; ties to the newer shard); with ONE_INDEX.json,
//       also the same scores from that single index: {merged: [...], single: [...]}
"use strict";
const fs = require("fs");
const path = require("path");
const vm = require("vm");
const lunr = require(path.join(__dirname, "..", "..", "node_modules", "lunr"));

function evaluate(file, sandbox) {
  vm.runInNewContext(fs.readFileSync(file, "utf8"), sandbox);
  return sandbox;
}

const shardCode = fs.readFileSync(path.join(__dirname, "..", "..", "static", "lunr-shard.js"), "utf8");

function readShard(file) {
  const sandbox = evaluate(file, { window: {} });
  vm.runInNewContext(shardCode, sandbox);
  return { shard: Object.values(sandbox.window.SITEGEN_SHARDS)[0], code: sandbox.window.sitegenShard };
}

function answer(fn) {
  try {
    return fn();
  } catch (e) {
    return { error: e.name + ": " + e.message };
  }
}

const similarity = lunr.Vector.prototype.similarity;
function rawSearch(index, query) {
  lunr.Vector.prototype.similarity = function (other) { return this.dot(other); };
  try {
    return index.search(query);
  } finally {
    lunr.Vector.prototype.similarity = similarity;
  }
}

if (process.argv[2] === "--expand") {
  const { shard, code } = readShard(process.argv[3]);
  process.stdout.write(JSON.stringify(code.expand(shard)));
} else {
  main(JSON.parse(fs.readFileSync(0, "utf8")));
}

function main(queries) {
  const round = (x) => Math.round(x * 1e6) / 1e6;
  if (process.argv[2] === "--merged") {
    const site = process.argv[3];
    const sandbox = evaluate(path.join(site, "search", "manifest.js"), { window: {} });
    const shards = sandbox.window.SITEGEN_SEARCH.shards.map((s, order) => {
      const { shard, code } = readShard(path.join(site, "search", s.file));
      return { order, index: code.load(lunr, shard).index };
    });
    const merged = queries.map((q) => answer(() => {
      const hits = [];
      for (const shard of shards) {
        rawSearch(shard.index, q).forEach((r, rank) => hits.push({ ref: r.ref, score: r.score, order: shard.order, rank }));
      }
      hits.sort((a, b) => b.score - a.score || a.order - b.order || a.rank - b.rank);
      return hits.map((h) => [h.ref, round(h.score)]);
    }));
    let single = null;
    if (process.argv[4]) {
      const one = lunr.Index.load(JSON.parse(fs.readFileSync(process.argv[4], "utf8")));
      single = queries.map((q) => answer(() => rawSearch(one, q).map((r) => [r.ref, round(r.score)])));
    }
    process.stdout.write(JSON.stringify({ merged, single }));
  } else {
    const { shard, code } = readShard(process.argv[2]);
    const started = process.hrtime.bigint();
    const index = code.load(lunr, shard).index;
    const loadMs = Number(process.hrtime.bigint() - started) / 1e6;
    const answers = queries.map((q) => answer(() => index.search(q).map((r) => [r.ref, Math.round(r.score * 1000) / 1000])));
    process.stdout.write(JSON.stringify({ loadMs, answers }));
  }
}
