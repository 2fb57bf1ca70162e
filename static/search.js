/* The search page: lunr.js answers from the prebuilt index (search/index.js) as you type.
 * Results are built from text nodes only: nothing from the index is ever parsed as HTML. */
(function () {
  "use strict";
  var MAX_SHOWN = 100;
  var input = document.getElementById("site-search");
  var status = document.getElementById("search-status");
  var list = document.getElementById("search-results");
  var store = window.SITEGEN_STORE || {};
  var index;
  try {
    index = lunr.Index.load(window.SITEGEN_INDEX);
  } catch (err) {
    status.textContent = "The search index could not be loaded, so search is unavailable.";
    return;
  }
  var total = Object.keys(store).length;
  var idle = "Type in the search box above to search " + total + " papers by title and abstract.";

  function stem(word) {
    return lunr.stemmer(new lunr.Token(word.toLowerCase())).toString();
  }

  // Text with the words whose stem lunr matched wrapped in <mark>.
  function highlighted(text, terms) {
    var fragment = document.createDocumentFragment();
    var parts = text.split(/([\p{L}\p{N}]+)/u);
    for (var i = 0; i < parts.length; i++) {
      if (!parts[i]) continue;
      if (i % 2 === 1 && terms[stem(parts[i])]) {
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

  function show(query) {
    clear();
    query = query.trim();
    if (!query) {
      status.textContent = idle;
      return;
    }
    var results;
    try {
      results = index.search(query);
    } catch (err) {
      if (err instanceof lunr.QueryParseError) {
        status.textContent = "That search could not be read (" + err.message + "). Check the search syntax below.";
        return;
      }
      throw err;
    }
    if (!results.length) {
      status.textContent = "No papers match \u201c" + query + "\u201d. Try fewer words, a prefix such as diffus*, or a typo-tolerant term such as difusion~1.";
      return;
    }
    status.textContent = results.length + (results.length === 1 ? " paper matches" : " papers match") +
      " \u201c" + query + "\u201d" + (results.length > MAX_SHOWN ? "; showing the first " + MAX_SHOWN + "." : ".");
    results.slice(0, MAX_SHOWN).forEach(function (result) {
      var doc = store[result.ref];
      if (!doc) return;
      var terms = {};
      Object.keys(result.matchData.metadata).forEach(function (t) { terms[t] = true; });
      var item = document.createElement("li");
      item.className = "search-result";
      var heading = document.createElement("h2");
      heading.className = "paper-title";
      var link = document.createElement("a");
      link.href = doc[1];
      link.appendChild(highlighted(doc[0], terms));
      heading.appendChild(link);
      item.appendChild(heading);
      var meta = document.createElement("p");
      meta.className = "meta";
      meta.textContent = doc[2].length ? "Listed " + doc[2].join(", ") : "";
      item.appendChild(meta);
      var snippet = document.createElement("p");
      snippet.className = "excerpt";
      snippet.appendChild(highlighted(doc[3], terms));
      item.appendChild(snippet);
      list.appendChild(item);
    });
  }

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
      show(input.value);
      remember(input.value, false);
    }, 120);
  });
  input.form.addEventListener("submit", function (event) {
    event.preventDefault();
    window.clearTimeout(timer);
    show(input.value);
    if (input.value.trim() !== queryFromUrl()) remember(input.value.trim(), true);
  });
  window.addEventListener("popstate", function () {
    input.value = queryFromUrl();
    show(input.value);
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
      show("");
      remember("", false);
      input.focus();
    }
  });

  input.value = queryFromUrl();
  show(input.value);
  if (!input.value) input.focus();
})();
