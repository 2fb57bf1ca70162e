/* The search engine in a Web Worker, where the browser lets the page start one: a page served
 * over HTTP(S). (From file://, Chromium starts a worker from a blob: URL, but a worker cannot
 * load file:// scripts, so there search.js runs the engine on the page, in short tasks.)
 *
 * Messages from the page: {type: "init", manifest, base: the manifest's URL, lunr: URL,
 * engine: URL} (the manifest object itself: the page has it already), then
 * {type: "find", id, text} -> {id, mode, error, empty, incomplete, count}, and
 * {type: "page", id, from, n} -> {id, hits: [{id, doc, marks}]} for the answer to find `id`
 * (only the latest answer is kept: `Session`, as on the page). Any failure is posted as
 * {type: "failed", message}, and the page falls back to running the engine itself. */
/* global lunr, sitegenSearch */
"use strict";
var session = null;

self.onmessage = function (event) {
  var m = event.data;
  try {
    if (m.type === "init") {
      importScripts(m.lunr, m.engine);
      session = new sitegenSearch.Session(new sitegenSearch.Engine(lunr, m.manifest, sitegenSearch.fetchLoader(m.base)));
    } else if (m.type === "find") {
      session.find(m.text, m.id).then(function (found) {
        found.type = "found";
        found.id = m.id;
        self.postMessage(found);
      }).catch(fail);
    } else if (m.type === "page") {
      session.page(m.id, m.from, m.n).then(function (hits) {
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
