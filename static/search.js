/* The search page: lunr.js answers from prebuilt index shards (search/shard-*.js) as you type.
 *
 * The manifest (search/manifest.js) lists the shards, newest first. They load one after
 * another by <script> (so search works from file:// as well as on a server), starting as the
 * page opens; a query is answered from the shards already loaded and the results grow as
 * the rest arrive, with the status saying how much of the archive has been searched.
 * Loading and searching run in short slices, so the page never freezes while they go on.
 *
 * Merging: each shard's document vectors were built with the statistics of the whole
 * archive, so a paper's term weights are those one big index would have. lunr divides a
 * score by the length of the query vector, which counts only the query terms present in
 * that shard; results are merged by the score without that division (the dot product of
 * query and paper), which is the same in every shard. Within a shard this orders results
 * as lunr does (the division is the same for all of them) whenever all query terms search
 * the same fields. Ties go to the newer shard, then to lunr's order.
 *
 * Results are built from text nodes only: nothing from the index is ever parsed as HTML. */
(function () {
  "use strict";
  var MAX_SHOWN = 100;
  var SLICE_MS = 30; // longest stretch of work before the page gets a turn
  var input = document.getElementById("site-search");
  var status = document.getElementById("search-status");
  var list = document.getElementById("search-results");
  var manifest = window.SITEGEN_SEARCH;
  var manifestScript = document.getElementById("search-manifest");
  if (!manifest || !manifestScript || typeof lunr === "undefined" || !window.sitegenShard) {
    status.textContent = "The search index could not be loaded, so search is unavailable.";
    return;
  }
  var total = manifest.papers;
  var shards = manifest.shards.map(function (s, order) {
    return { id: s.id, label: s.label, papers: s.papers, url: new URL(s.file, manifestScript.src).href,
             order: order, index: null, store: null, failed: false };
  });

  // Scores for merging: lunr's, without the division by the query vector's length.
  var similarity = lunr.Vector.prototype.similarity;
  var rawScores = false;
  lunr.Vector.prototype.similarity = function (other) {
    return rawScores ? this.dot(other) : similarity.call(this, other);
  };

  function number(n) { return n.toLocaleString("en-US"); }

  // ---- loading -------------------------------------------------------------------------
  var loadedPapers = 0;
  var loadedShards = 0;
  var failedShards = 0;
  var nextToLoad = 0;
  var arrived = []; // shards whose script has run, waiting to become lunr indexes

  var inFlight = 0;
  function loadNext() {
    // The newest shard alone first, so the first results need only it; after that two at a
    // time, so one is read from disk or network while the other is prepared.
    var most = loadedShards + failedShards === 0 ? 1 : 2;
    while (nextToLoad < shards.length && inFlight < most) request(shards[nextToLoad++]);
  }

  function request(shard) {
    inFlight++;
    var script = document.createElement("script");
    script.src = shard.url;
    script.async = true;
    script.onload = function () {
      inFlight--;
      arrived.push(shard);
      later(prepare);
    };
    script.onerror = function () {
      inFlight--;
      shard.failed = true;
      failedShards++;
      loadNext();
      later(search ? step : report);
    };
    document.head.appendChild(script);
  }

  function prepare() {
    var shard = arrived.shift();
    if (!shard) return;
    var all = window.SITEGEN_SHARDS || {};
    try {
      var loaded = window.sitegenShard.load(lunr, all[shard.id]);
      shard.index = loaded.index;
      shard.store = loaded.store;
      loadedPapers += shard.papers;
      loadedShards++;
      if (search) search.todo.push(shard);
    } catch (err) {
      shard.failed = true;
      failedShards++;
    }
    delete all[shard.id];
    later(search ? step : report); // answer from this shard first, then ask for more
    later(loadNext);
  }

  function later(fn) { window.setTimeout(fn, 0); }

  // ---- searching -----------------------------------------------------------------------
  var search = null; // the query being answered: {query, todo: [shards], hits: [], searched, error}

  function ask(query) {
    query = query.trim();
    if (!query) {
      search = null;
      clear();
      report();
      return;
    }
    search = { query: query, todo: shards.filter(function (s) { return s.index; }), hits: [], searched: 0, error: null };
    step();
  }

  var RENDER_EVERY_MS = 400; // while shards arrive, the result list is redrawn at most this often
  var lastShown = 0;

  function step() {
    var current = search;
    if (!current) return;
    var started = Date.now();
    while (current.todo.length && !current.error && Date.now() - started < SLICE_MS) {
      var shard = current.todo.shift();
      var results;
      rawScores = true;
      try {
        results = shard.index.search(current.query);
      } catch (err) {
        if (!(err instanceof lunr.QueryParseError)) throw err;
        current.error = err;
        break;
      } finally {
        rawScores = false;
      }
      for (var i = 0; i < results.length; i++) {
        current.hits.push({ ref: results[i].ref, score: results[i].score, order: shard.order, rank: i,
                            doc: shard.store[results[i].ref], terms: results[i].matchData.metadata });
      }
      current.searched += shard.papers;
    }
    var complete = current.searched >= total || loadedShards + failedShards >= shards.length;
    var now = Date.now();
    var firstHits = current.hits.length && !current.shownHits;
    if (!current.shown || firstHits || current.error || (!current.todo.length && complete) || now - lastShown >= RENDER_EVERY_MS) {
      show(current);
      current.shown = true;
      current.shownHits = current.hits.length > 0;
      lastShown = now;
    } else if (!current.todo.length && !current.pending) {
      current.pending = window.setTimeout(function () { current.pending = null; if (search === current) step(); }, RENDER_EVERY_MS);
    }
    if (current.todo.length && !current.error) later(step);
  }

  function byScore(a, b) {
    return b.score - a.score || a.order - b.order || a.rank - b.rank;
  }

  // ---- showing -------------------------------------------------------------------------
  function stem(word) {
    return lunr.stemmer(new lunr.Token(word.toLowerCase())).toString();
  }

  // Text with the words whose stem lunr matched wrapped in <mark>.
  function highlighted(text, terms) {
    var fragment = document.createDocumentFragment();
    var parts = text.split(/([\p{L}\p{N}]+)/u);
    for (var i = 0; i < parts.length; i++) {
      if (!parts[i]) continue;
      if (i % 2 === 1 && Object.prototype.hasOwnProperty.call(terms, stem(parts[i]))) {
        var mark = document.createElement("mark");
        mark.textContent = parts[i];
        fragment.appendChild(mark);
      } else {
        fragment.appendChild(document.createTextNode(parts[i]));
      }
    }
    return fragment;
  }

  function clear() {
    while (list.firstChild) list.removeChild(list.firstChild);
  }

  function coverage(searched) {
    if (searched >= total && !failedShards) return "all " + number(total) + " papers searched";
    var text = number(searched) + " of " + number(total) + " papers searched";
    if (failedShards) return text + "; " + failedShards + " part" + (failedShards === 1 ? "" : "s") + " of the index could not be loaded";
    return text + ", the rest are loading";
  }

  function report() {
    if (search) return;
    if (loadedPapers >= total || failedShards) {
      status.textContent = "Type in the search box above to search " + number(total) + " papers by title and abstract" +
        (failedShards ? " (" + coverage(loadedPapers) + ")." : ".");
    } else {
      status.textContent = "Loading the search index: " + number(loadedPapers) + " of " + number(total) +
        " papers so far. Type in the search box above to search them.";
    }
    status.dataset.searched = String(loadedPapers);
    status.dataset.total = String(total);
  }

  function show(current) {
    var query = current.query;
    status.dataset.searched = String(current.searched);
    status.dataset.total = String(total);
    if (current.error) {
      clear();
      status.textContent = "That search could not be read (" + current.error.message + "). Check the search syntax below.";
      return;
    }
    var hits = current.hits.sort(byScore);
    var done = current.searched >= total || (!current.todo.length && loadedShards + failedShards >= shards.length);
    if (!hits.length) {
      clear();
      status.textContent = "No papers match \u201c" + query + "\u201d" + (done ? "" : " yet") + " (" + coverage(current.searched) + ")." +
        (done ? " Try fewer words, a prefix such as diffus*, or a typo-tolerant term such as difusion~1." : "");
      return;
    }
    status.textContent = number(hits.length) + (hits.length === 1 ? " paper matches" : " papers match") +
      " \u201c" + query + "\u201d (" + coverage(current.searched) + ")" +
      (hits.length > MAX_SHOWN ? "; showing the first " + MAX_SHOWN + "." : ".");
    var focused = list.contains(document.activeElement) ? document.activeElement.getAttribute("href") : null;
    clear();
    hits.slice(0, MAX_SHOWN).forEach(function (hit) {
      var doc = hit.doc;
      if (!doc) return;
      var item = document.createElement("li");
      item.className = "search-result";
      var heading = document.createElement("h2");
      heading.className = "paper-title";
      var link = document.createElement("a");
      link.setAttribute("href", doc[1]);
      link.appendChild(highlighted(doc[0], hit.terms));
      heading.appendChild(link);
      item.appendChild(heading);
      var meta = document.createElement("p");
      meta.className = "meta";
      meta.textContent = doc[2].length ? "Listed " + doc[2].join(", ") : "";
      item.appendChild(meta);
      var snippet = document.createElement("p");
      snippet.className = "excerpt";
      snippet.appendChild(highlighted(doc[3], hit.terms));
      item.appendChild(snippet);
      list.appendChild(item);
      if (focused && focused === doc[1]) link.focus();
    });
  }

  // ---- the page ------------------------------------------------------------------------
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
    timer = window.setTimeout(function () {
      ask(input.value);
      remember(input.value, false);
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
  report();
  loadNext();
  if (input.value) ask(input.value);
  else input.focus();
})();
