/* Every page: keyboard shortcuts, and a head start for search.
 * Shortcuts (none fires while typing in a field):
 *   /      focus the search box           j / k  next / previous paper in a list
 *   Enter  open the focused paper         [ / ]  previous / next date, week or month
 *   ?      show or hide this help
 */
(function () {
  "use strict";
  var root = document.documentElement;
  root.classList.add("js");  // shows what only works with JavaScript (the list-mode button)

  function store(kind) {  // localStorage / sessionStorage, or null where the browser refuses them
    try { return window[kind]; } catch (e) { return null; }
  }

  // The reader's list mode, remembered: "compact" (title and metadata, a line each) or the full list.
  var MODE = "sitegen-list-mode";
  function applyMode(mode) {
    root.classList.toggle("compact", mode === "compact");
    Array.prototype.forEach.call(document.querySelectorAll("button.list-mode"), function (button) {
      button.setAttribute("aria-pressed", mode === "compact" ? "true" : "false");
    });
  }
  var local = store("localStorage");
  applyMode(local && local.getItem(MODE));

  // Back from a paper puts focus (and the view) on the paper you opened, so j / k go on from there.
  var OPENED = "sitegen-opened:" + location.pathname;
  var session = store("sessionStorage");
  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!target.closest) return;
    if (target.closest("button.list-mode")) {
      var mode = root.classList.contains("compact") ? "full" : "compact";
      if (local) local.setItem(MODE, mode);
      applyMode(mode);
      return;
    }
    var link = target.closest(".paper-nav a");
    if (link && session) session.setItem(OPENED, link.getAttribute("href"));
  });
  window.addEventListener("pageshow", function () {
    var href = session && session.getItem(OPENED);
    if (!href) return;
    var links = document.querySelectorAll(".paper-nav a");
    for (var i = 0; i < links.length; i++) {
      if (links[i].getAttribute("href") === href) {
        links[i].focus({ preventScroll: true });
        links[i].scrollIntoView({ block: "center" });
        return;
      }
    }
  });
  var HELP = [["/", "search"], ["j / k", "next / previous paper"], ["Enter", "open the focused paper"],
              ["[ / ]", "previous / next date, week or month"], ["?", "show or hide this help"]];

  function typing(el) {
    if (!el) return false;
    var tag = el.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
  }

  function items() {
    return Array.prototype.slice.call(document.querySelectorAll(".paper-nav .paper-title a, .paper-nav > li > a"));
  }

  function move(step) {
    var all = items();
    if (!all.length) return;
    var at = all.indexOf(document.activeElement);
    var next = at < 0 ? (step > 0 ? 0 : all.length - 1) : Math.max(0, Math.min(all.length - 1, at + step));
    all[next].focus();
    all[next].scrollIntoView({ block: "nearest" });
  }

  function follow(rel) {
    var link = document.querySelector("a[rel=" + rel + "]");
    if (link) window.location.href = link.href;
  }

  var dialog = null;
  function toggleHelp() {
    if (!dialog) {
      dialog = document.createElement("dialog");
      dialog.className = "shortcuts";
      dialog.setAttribute("aria-labelledby", "shortcuts-title");
      var title = document.createElement("h2");
      title.id = "shortcuts-title";
      title.textContent = "Keyboard shortcuts";
      dialog.appendChild(title);
      var list = document.createElement("dl");
      HELP.forEach(function (pair) {
        var dt = document.createElement("dt");
        var kbd = document.createElement("kbd");
        kbd.textContent = pair[0];
        dt.appendChild(kbd);
        var dd = document.createElement("dd");
        dd.textContent = pair[1];
        list.appendChild(dt);
        list.appendChild(dd);
      });
      dialog.appendChild(list);
      var close = document.createElement("button");
      close.type = "button";
      close.textContent = "Close";
      close.addEventListener("click", function () { dialog.close(); });
      dialog.appendChild(close);
      document.body.appendChild(dialog);
    }
    if (dialog.open) dialog.close(); else dialog.showModal();
  }

  // The first time the reader focuses the search box (outside the search page), ask the
  // browser to fetch what the search page will need first: lunr.js, the search scripts (the
  // worker's too) and the index's manifest. Nothing is loaded on a plain page view.
  var form = document.querySelector("form.search-form[data-prefetch]");
  var box = document.getElementById("site-search");
  function prefetch(url) {
    var link = document.createElement("link");
    link.rel = "prefetch";
    link.href = url;
    document.head.appendChild(link);
  }
  if (form && box && !document.getElementById("search-manifest")) {
    box.addEventListener("focus", function () {
      form.getAttribute("data-prefetch").split(" ").forEach(prefetch);
    }, { once: true });
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    var key = event.key;
    if (key === "/") {
      var box = document.getElementById("site-search");
      if (!box) return;
      event.preventDefault();
      box.focus();
      box.select();
    } else if (key === "j" || key === "k") {
      event.preventDefault();
      move(key === "j" ? 1 : -1);
    } else if (key === "[" || key === "]") {
      follow(key === "[" ? "prev" : "next");
    } else if (key === "?") {
      event.preventDefault();
      toggleHelp();
    }
  });
})();
