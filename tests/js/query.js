// Answer queries over a built site's search index from Node, as the browser does: with the
// site's own static/search-engine.js and lunr.js, files read from the site's search/ folder.
//   node query.js SITE_DIR < queries.json
//       the engine's answer to each query in lunr's syntax: [[[ref, score], ...] | {error}, ...]
//   node query.js --find SITE_DIR < texts.json
//       the search box's answer: [{mode, results: [[ref, score, whole]], error}, ...]
//   node query.js --one INDEX.json < queries.json
//       lunr.js's answer from one lunr index of the whole archive (lunr.py's JSON)
// A ref is "p" and the paper's number, as tests name papers in the reference index.
"use strict";
const fs = require("fs");
const path = require("path");
const vm = require("vm");
const lunr = require(path.join(__dirname, "..", "..", "node_modules", "lunr"));
const { Engine } = require(path.join(__dirname, "..", "..", "static", "search-engine.js"));

function evaluate(file) {
  const sandbox = { window: {} };
  vm.runInNewContext(fs.readFileSync(file, "utf8"), sandbox);
  return sandbox.window;
}

function engineFor(site) {
  const manifest = evaluate(path.join(site, "search", "manifest.js")).SITEGEN_SEARCH;
  const loaded = [];
  const engine = new Engine(lunr, manifest, (key) => {
    const file = path.join(site, "search", key[0], key.slice(1) + ".js");
    loaded.push(key);
    return evaluate(file).SITEGEN_INDEX[key];
  });
  return { engine, loaded };
}

const round = (x) => Math.round(x * 1e9) / 1e9;

async function main() {
  const queries = JSON.parse(fs.readFileSync(0, "utf8"));
  const out = [];
  if (process.argv[2] === "--one") {
    const one = lunr.Index.load(JSON.parse(fs.readFileSync(process.argv[3], "utf8")));
    for (const q of queries) {
      try {
        out.push(one.search(q).map((r) => [r.ref, round(r.score)]));
      } catch (e) {
        out.push({ error: e.name + ": " + e.message });
      }
    }
  } else if (process.argv[2] === "--find") {
    for (const q of queries) {
      const { engine, loaded } = engineFor(process.argv[3]);
      const answer = await engine.find(q);
      out.push({ mode: answer.mode, error: answer.error || null, loaded,
                 results: answer.results.map((r) => ["p" + r.id, round(r.score), !!r.whole, engine.matched(answer, r.id)]) });
    }
  } else {
    const { engine } = engineFor(process.argv[2]);
    for (const q of queries) {
      const query = new lunr.Query(engine.fields);
      try {
        new lunr.QueryParser(q, query).parse();
      } catch (e) {
        out.push({ error: e.name + ": " + e.message });
        continue;
      }
      const answer = await engine.search(query);
      out.push(answer.results.map((r) => ["p" + r.id, round(r.score)]));
    }
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch((e) => { console.error(e.stack); process.exit(1); });
