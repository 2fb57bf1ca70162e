/* The search engine in a Web Worker, where the browser lets the page start one: a page served
 * over HTTP(S). (From file://, Chromium starts a worker from a blob: URL, but a worker cannot
 * load file:// scripts, so there search.js runs the engine on the page, in short tasks.)
 *
 * Messages from the page: {type: "init", manifest, base: the manifest's URL, lunr: URL,
 * engine: URL} (the manifest object itself: the page has it already), then
 * {type: "find", id, text} -> {id, mode, error, empty, incomplete, count}, and
 * {type: "page", id, from, n} -> {id, hits: [{id, doc, terms}]} for the answer to find `id`
 * (only the latest answer is kept). Any failure is posted as {type: "failed", message}, and
 * the page falls back to running the engine itself. */
/* global lunr, sitegenSearch */
"use strict";
var engine = null;
var latest = { id: -1, answer: null };

self.onmessage = function (event) {
  var m = event.data;
  try {
    if (m.type === "init") {
      importScripts(m.lunr, m.engine);
      engine = new sitegenSearch.Engine(lunr, m.manifest, sitegenSearch.fetchLoader(m.base));
      self.postMessage({ type: "ready" });
    } else if (m.type === "find") {
      engine.find(m.text).then(function (answer) {
        latest = { id: m.id, answer: answer };
        self.postMessage({ type: "found", id: m.id, mode: answer.mode, error: answer.error || null, empty: !!answer.empty,
                           incomplete: !!answer.incomplete, count: answer.results.length });
      }).catch(fail);
    } else if (m.type === "page") {
      if (latest.id !== m.id) return; // an answer the reader has typed past
      engine.page(latest.answer, m.from, m.n).then(function (hits) {
        self.postMessage({ type: "page", id: m.id, from: m.from, hits: hits });
      }).catch(fail);
    }
  } catch (err) {
    fail(err);
  }
};

function fail(err) {
  self.postMessage({ type: "failed", message: String(err && err.message || err) });
}
