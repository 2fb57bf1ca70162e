/* The search page: answers as you type with static/search-engine.js over the index in search/.
 *
 * Each answer covers the whole archive: the engine loads only the index files the query's
 * words need (see search-engine.js), then the document chunks of the results shown, ten at a
 * time. An answer that arrives after the reader has typed on is dropped. The status says
 * which kind of match it is (every word, some words, a typo), how many papers match, and
 * whether any part of the index failed to load.
 *
 * Served over HTTP(S), the engine runs in a Web Worker (static/search-worker.js), which fetches
 * the index files itself, so the page's main thread only draws; from file://, or if the worker
 * fails, it runs on the page, its work cut into short tasks.
 *
 * Results are built from text nodes only: nothing from the index is ever parsed as HTML. */
(function () {
  "use strict";
  var PAGE = 10; // results shown at first, and added by "Show more"
  var SNIPPET = 240; // characters of abstract around the match
  var input = document.getElementById("site-search");
  var status = document.getElementById("search-status");
  var list = document.getElementById("search-results");
  var manifest = window.SITEGEN_SEARCH;
  var manifestScript = document.getElementById("search-manifest");
  var script = document.getElementById("search-script");
  if (!manifest || !manifestScript || !script) {
    status.textContent = "The search index could not be loaded, so search is unavailable.";
    return;
  }
  var total = manifest.papers;
  var searcher = null; // {kind, find(text, id), page(id, from, n)}: in a worker, or on the page
  var more = document.createElement("button");
  more.type = "button";
  more.className = "search-more";
  more.hidden = true;
  list.parentNode.insertBefore(more, list.nextSibling);

  function number(n) { return n.toLocaleString("en-US"); }

  // ---- asking ----------------------------------------------------------------------------
  var asked = 0; // the number of the latest query: older answers are dropped
  var current = null; // {query, answer, shown}

  function ask(text) {
    var query = text.trim();
    var mine = ++asked;
    status.dataset.state = "searching";
    if (!query) {
      current = null;
      clear();
      more.hidden = true;
      idle();
      return;
    }
    searcher.find(text, mine).then(function (answer) {
      if (mine !== asked) return;
      current = { query: query, answer: answer, shown: 0, id: mine };
      clear();
      return showMore(mine);
    }).catch(function (err) {
      if (mine !== asked) return;
      clear();
      status.textContent = "Search failed: " + err.message;
      status.dataset.state = "done";
    });
  }

  function showMore(mine) {
    var from = current.shown;
    more.disabled = true;
    return searcher.page(current.id, from, PAGE).then(function (hits) {
      if (mine !== asked) return;
      var focused = list.contains(document.activeElement) ? document.activeElement.getAttribute("href") : null;
      hits.forEach(function (hit) { show(hit, focused); });
      current.shown = from + hits.length;
      report(current);
    });
  }

  more.addEventListener("click", function () {
    if (current) showMore(asked);
  });

  // ---- showing ---------------------------------------------------------------------------
  // A result's matched words come from the engine as [start, end, term] ranges of its title and
  // abstract (`Engine.marks`): it has lunr's stemmer, wherever it runs.

  // Text from `start` to `end` with the matched words wrapped in <mark>, as text nodes.
  function highlighted(text, marks, start, end) {
    start = start || 0;
    end = end === undefined ? text.length : end;
    var fragment = document.createDocumentFragment(), at = start;
    marks.forEach(function (m) {
      if (m[0] < start || m[1] > end) return;
      if (m[0] > at) fragment.appendChild(document.createTextNode(text.slice(at, m[0])));
      var mark = document.createElement("mark");
      mark.textContent = text.slice(m[0], m[1]);
      fragment.appendChild(mark);
      at = m[1];
    });
    if (at < end) fragment.appendChild(document.createTextNode(text.slice(at, end)));
    return fragment;
  }

  // The stretch of the abstract with the most different matched terms, cut at word ends.
  function snippet(text, marks) {
    if (text.length <= SNIPPET) return highlighted(text, marks);
    var best = 0, bestCount = -1;
    marks.forEach(function (m, i) {
      var seen = {};
      for (var j = i; j < marks.length && marks[j][1] - m[0] <= SNIPPET - 40; j++) seen[marks[j][2]] = true;
      var count = Object.keys(seen).length;
      if (count > bestCount) { bestCount = count; best = m[0]; }
    });
    var start = Math.max(0, best - 40);
    if (start > 0) {
      var space = text.indexOf(" ", start);
      start = space === -1 || space > best ? best : space + 1;
    }
    var end = Math.min(text.length, start + SNIPPET);
    if (end < text.length) {
      var cut = text.lastIndexOf(" ", end);
      if (cut > start) end = cut;
    }
    var fragment = document.createDocumentFragment();
    if (start > 0) fragment.appendChild(document.createTextNode("\u2026"));
    fragment.appendChild(highlighted(text, marks, start, end));
    if (end < text.length) fragment.appendChild(document.createTextNode("\u2026"));
    return fragment;
  }

  function clear() {
    while (list.firstChild) list.removeChild(list.firstChild);
  }

  function show(hit, focused) {
    var doc = hit.doc;
    if (!doc) return;
    var item = document.createElement("li");
    item.className = "search-result";
    var heading = document.createElement("h2");
    heading.className = "paper-title";
    var link = document.createElement("a");
    link.setAttribute("href", doc[1]);
    link.appendChild(highlighted(doc[0], hit.marks[0]));
    heading.appendChild(link);
    item.appendChild(heading);
    var meta = document.createElement("p");
    meta.className = "meta";
    meta.textContent = doc[2].length ? "Listed " + doc[2].join("; ") : "";
    item.appendChild(meta);
    var excerpt = document.createElement("p");
    excerpt.className = "excerpt";
    excerpt.appendChild(snippet(doc[3], hit.marks[1]));
    item.appendChild(excerpt);
    list.appendChild(item);
    if (focused && focused === doc[1]) link.focus();
  }

  function idle() {
    status.textContent = "Type in the search box above to search " + number(total) + " papers by title and abstract.";
    status.dataset.searched = String(total);
    status.dataset.total = String(total);
    status.dataset.state = "done";
  }

  function report(current) {
    var answer = current.answer, query = current.query, n = answer.count;
    var quoted = "\u201c" + query + "\u201d";
    var searched = answer.incomplete ? "" : " (all " + number(total) + " papers searched)";
    var text;
    if (answer.error) {
      text = "That search could not be read (" + answer.error + "). Check the search syntax below.";
    } else if (!n) {
      text = "No papers match " + quoted + searched + ". Try fewer words or another spelling" +
        (answer.mode === "syntax" ? ", or check the search syntax below." : ".");
    } else {
      var papers = number(n) + (n === 1 ? " paper matches " : " papers match ");
      if (answer.mode === "any") text = "No paper has every word of " + quoted + "; " + papers + "some of them" + searched;
      else if (answer.mode === "typo") text = "No paper matches " + quoted + " as typed; " + papers + "words spelled like it" + searched;
      else text = papers + quoted + searched;
      text += current.shown < n ? "; showing the first " + number(current.shown) + "." : ".";
    }
    if (answer.incomplete) text += " Part of the search index could not be loaded, so some papers may be missing.";
    status.textContent = text;
    status.dataset.searched = String(answer.incomplete ? 0 : total);
    status.dataset.total = String(total);
    status.dataset.mode = answer.mode || "";
    status.dataset.engine = searcher.kind;
    status.dataset.state = "done";
    more.hidden = current.shown >= n;
    more.disabled = false;
    more.textContent = "Show " + number(Math.min(PAGE, n - current.shown)) + " more";
  }

  // ---- where the engine runs ---------------------------------------------------------------
  function absolute(attribute) { return new URL(script.getAttribute(attribute), document.baseURI).href; }

  // lunr.js and the engine, loaded on the page by <script> (only where the page runs it): a
  // `Session` over an Engine.
  var code = null;
  function pageSession() {
    code = code || Promise.all(["data-lunr", "data-engine"].map(function (attribute) {
      return new Promise(function (resolve, reject) {
        var tag = document.createElement("script");
        tag.src = absolute(attribute);
        tag.onload = resolve;
        tag.onerror = function () { reject(new Error("could not load " + tag.src)); };
        document.head.appendChild(tag);
      });
    })).then(function () {
      var api = window.sitegenSearch;
      return new api.Session(new api.Engine(lunr, manifest, api.scriptLoader(manifestScript.src)));
    });
    return code;
  }

  // The engine on this page, its files loaded by <script> (what works from file://).
  function onPage() {
    return {
      kind: "page",
      find: function (text, id) {
        return pageSession().then(function (session) { return session.find(text, id); });
      },
      page: function (id, from, n) {
        return pageSession().then(function (session) { return session.page(id, from, n); });
      }
    };
  }

  // The engine in a Web Worker (static/search-worker.js), over HTTP(S); on any failure the
  // page takes over and asks again.
  function inWorker() {
    var worker = new Worker(absolute("data-worker"));
    var waiting = new Map(); // "find 3" / "page 3 10" -> resolve
    function giveUp() {
      worker.terminate();
      searcher = onPage();
      waiting.clear();
      if (current || input.value.trim()) ask(input.value);
    }
    worker.onerror = function (event) { event.preventDefault(); giveUp(); };
    worker.onmessage = function (event) {
      var m = event.data, key = m.type === "found" ? "find " + m.id : "page " + m.id + " " + m.from;
      if (m.type === "failed") { giveUp(); return; }
      var resolve = waiting.get(key);
      if (!resolve) return;
      waiting.delete(key);
      resolve(m.type === "found" ? m : m.hits);
    };
    worker.postMessage({ type: "init", lunr: absolute("data-lunr"), engine: absolute("data-engine"),
                         manifest: manifest, base: manifestScript.src });
    return {
      kind: "worker",
      find: function (text, id) {
        return new Promise(function (resolve) {
          waiting.set("find " + id, resolve);
          worker.postMessage({ type: "find", id: id, text: text });
        });
      },
      page: function (id, from, n) {
        return new Promise(function (resolve) {
          waiting.set("page " + id + " " + from, resolve);
          worker.postMessage({ type: "page", id: id, from: from, n: n });
        });
      }
    };
  }

  if (/^https?:$/.test(window.location.protocol) && window.Worker) {
    try {
      searcher = inWorker();
    } catch (err) {
      searcher = onPage(); // the browser would not start it
    }
  } else {
    searcher = onPage();
  }

  // ---- the page --------------------------------------------------------------------------
  function queryFromUrl() {
    return new URLSearchParams(window.location.search).get("q") || "";
  }

  function remember(query, push) {
    var url = query ? "?q=" + encodeURIComponent(query) : window.location.pathname.split("/").pop();
    try {
      if (push) window.history.pushState({ q: query }, "", url);
      else window.history.replaceState({ q: query }, "", url);
    } catch (err) { /* some browsers refuse history on file://; the results still show */ }
  }

  var timer = null;
  input.addEventListener("input", function () {
    window.clearTimeout(timer);
    status.dataset.state = "typing";
    timer = window.setTimeout(function () {
      ask(input.value);
      remember(input.value.trim(), false);
    }, 120);
  });
  input.form.addEventListener("submit", function (event) {
    event.preventDefault();
    window.clearTimeout(timer);
    ask(input.value);
    if (input.value.trim() !== queryFromUrl()) remember(input.value.trim(), true);
  });
  window.addEventListener("popstate", function () {
    input.value = queryFromUrl();
    ask(input.value);
  });

  function links() {
    return Array.prototype.slice.call(list.querySelectorAll(".paper-title a"));
  }
  document.addEventListener("keydown", function (event) {
    var all = links();
    var at = all.indexOf(document.activeElement);
    if (event.key === "ArrowDown" && (document.activeElement === input || at >= 0) && all.length) {
      event.preventDefault();
      all[Math.min(at + 1, all.length - 1)].focus();
    } else if (event.key === "ArrowUp" && at >= 0) {
      event.preventDefault();
      if (at === 0) input.focus(); else all[at - 1].focus();
    } else if (event.key === "Escape" && (document.activeElement === input || at >= 0)) {
      event.preventDefault();
      input.value = "";
      ask("");
      remember("", false);
      input.focus();
    }
  });

  input.value = queryFromUrl();
  if (input.value) ask(input.value);
  else {
    idle();
    input.focus();
  }
})();
