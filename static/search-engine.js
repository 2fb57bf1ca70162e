/* The search engine: lunr's query semantics over the term-partitioned index of sitegen/search.py.
 *
 * A query loads the manifest once, then only what its words need: the term chunk holding each
 * word (the manifest lists every chunk's first term), the word chunks a prefix, wildcard or
 * typo has to look through, positions for phrases and hyphenated names, and the document
 * chunks of the results shown. Everything loads by <script>, from a web server or file://.
 *
 * `Engine.search` answers a lunr.Query exactly as lunr.Index.query answers it over one index
 * of the whole archive: the same clauses, pipeline, expansion of wildcards and edit distances
 * (with lunr's own TokenSet), required and prohibited sets, query vectors and BM25 weights,
 * computed here from each posting's term count and field length with the archive's document
 * count and average field lengths (lunr.Builder's arithmetic, rounded to thousandths as lunr
 * stores weights). A test compares it with lunr.js over one lunr.py index of the seeds.
 *
 * `Engine.find` is the search box: plain words are all required (with a fallback to any
 * word), the last word also matches as a prefix while it is being typed, "quoted phrases"
 * match words in sequence, hyphenated names (GPT-4) rank papers holding them whole first, and
 * a word found nowhere is retried as a typo. Text with lunr's syntax goes to lunr's parser.
 */
(function (root) {
  "use strict";

  // Sets of papers as lunr.Set has them (COMPLETE: every paper), held as one byte per paper.
  var COMPLETE = { complete: true };
  function emptySet(papers) { return new Uint8Array(papers); }
  function union(a, b) {
    if (a === COMPLETE || b === COMPLETE) return COMPLETE;
    var out = a.slice();
    for (var i = 0; i < b.length; i++) out[i] |= b[i];
    return out;
  }
  function intersect(a, b) {
    if (a === COMPLETE) return b;
    if (b === COMPLETE) return a;
    var out = a.slice();
    for (var i = 0; i < b.length; i++) out[i] &= b[i];
    return out;
  }
  function contains(set, x) { return set === COMPLETE || set[x] === 1; }

  // `fn`'s value, computed in a task of its own: a query's work is cut in steps, so the page
  // can draw and take input between them (no step takes long even at 100k papers).
  function later(fn) {
    return new Promise(function (resolve) { setTimeout(function () { resolve(fn()); }, 0); });
  }

  // How many entries of a sorted array are <= key (JavaScript's string order, as the index's).
  function upperBound(sorted, key) {
    var lo = 0, hi = sorted.length;
    while (lo < hi) {
      var mid = (lo + hi) >> 1;
      if (sorted[mid] <= key) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

  /* manifest: window.SITEGEN_SEARCH; load(key) -> Promise of the data of file `key` ("t3", "d0",
   * ...), rejected if it cannot be loaded. */
  function Engine(lunr, manifest, load) {
    this.lunr = lunr;
    this.manifest = manifest;
    this.fields = manifest.fields;
    this.papers = manifest.papers;
    this.average = manifest.lengths.map(function (sum) { return sum / manifest.papers; });
    this.searchPipeline = lunr.Pipeline.load(manifest.pipeline);
    this.readPipeline = new lunr.Pipeline();
    this.readPipeline.add(lunr.stopWordFilter, lunr.stemmer);
    this._load = load;
    this._files = new Map(); // key -> Promise of data (null if it failed)
    this._chunks = new Map(); // term chunk number -> {terms: Map(term -> row), rows}
    this._postings = new Map(); // term -> decoded postings
    this._words = new Map(); // word chunk number -> sorted terms
    this.failures = 0; // files that could not be loaded so far
  }

  Engine.prototype.file = function (key) {
    var self = this, pending = this._files.get(key);
    if (!pending) {
      pending = Promise.resolve().then(function () { return self._load(key); })
        .catch(function () {
          self.failures++;
          self._files.delete(key); // the next query tries again
          return null;
        });
      this._files.set(key, pending);
    }
    return pending;
  };

  /* The index has tiers (sitegen/search.py): the papers up to a boundary, and those after it,
   * each with term, position and word chunks of its own, named after the tier ("t3", "tr3").
   * A term's postings are its rows in every tier, joined in paper order; its word is in the
   * word chunks of each tier that has it. */

  // The term chunks that may hold `term`: per tier, the one whose range it falls in ("3",
  // "r0"); a tier whose first term comes after it has none.
  Engine.prototype.termChunksOf = function (term) {
    var out = [];
    this.manifest.tiers.forEach(function (tier) {
      var k = upperBound(tier.terms, term) - 1;
      if (k >= 0) out.push(tier.name + k);
    });
    return out;
  };

  Engine.prototype.termChunk = function (id) {
    var self = this;
    if (this._chunks.has(id)) return Promise.resolve(this._chunks.get(id));
    return this.file("t" + id).then(function (rows) {
      if (!rows) return { id: id, terms: new Map(), rows: [] }; // not kept: tried again next time
      if (!self._chunks.has(id)) {
        var terms = new Map();
        rows.forEach(function (row, i) { terms.set(row[0], i); });
        self._chunks.set(id, { id: id, terms: terms, rows: rows });
      }
      return self._chunks.get(id);
    });
  };

  // Whether `term` is in the archive (its term chunks are loaded for it).
  Engine.prototype.has = function (term) {
    return this.loadTerms([term])
      .then(function (chunks) { return chunks.some(function (chunk) { return chunk.terms.has(term); }); });
  };

  // Whether every chunk that may hold `term` is loaded.
  Engine.prototype.loaded = function (term) {
    var self = this;
    return this.termChunksOf(term).every(function (id) { return self._chunks.has(id); });
  };

  // The archive's terms starting with `prefix` ("" for all), in order.
  Engine.prototype.wordsStarting = function (prefix) {
    var self = this, wanted = [];
    this.manifest.tiers.forEach(function (tier) {
      var firsts = tier.words;
      var lo = Math.max(0, upperBound(firsts, prefix) - 1), hi = lo;
      if (!prefix) hi = firsts.length - 1;
      while (hi + 1 < firsts.length && firsts[hi + 1].lastIndexOf(prefix, 0) === 0) hi++;
      for (var k = lo; k <= hi && k < firsts.length; k++) wanted.push(tier.name + k);
    });
    return Promise.all(wanted.map(function (id) {
      return self._words.has(id) ? self._words.get(id) : self.file("w" + id).then(function (words) {
        if (words) self._words.set(id, words);
        return words || [];
      });
    })).then(function (lists) {
      var out = [];
      lists.forEach(function (words) {
        var at = prefix ? upperBound(words, prefix) : 0;
        if (at > 0 && words[at - 1] === prefix) at--;
        for (var i = at; i < words.length && words[i].lastIndexOf(prefix, 0) === 0; i++) out.push(words[i]);
      });
      if (self.manifest.tiers.length > 1) {
        // the tiers' words, one sorted list (JavaScript's string order, the index's), each once
        out.sort();
        out = out.filter(function (word, i) { return i === 0 || word !== out[i - 1]; });
      }
      return out;
    });
  };

  /* The archive's terms a clause stands for with `term` (lunr: the token set's intersection
   * with the clause's), in lunr's order; `clause.also` adds exact terms (the stem of a word
   * being typed, besides its prefix); `clause.within` limits a typo's candidates to terms
   * starting as it does. */
  Engine.prototype.expand = function (clause, term) {
    var self = this, lunr = this.lunr;
    var also = clause.also || [];
    var exact = term.indexOf("*") === -1 && !clause.editDistance;
    var found;
    if (exact) {
      found = this.has(term).then(function (yes) { return yes ? [term] : []; });
    } else {
      var prefix = clause.editDistance ? (clause.within || "") : term.slice(0, term.indexOf("*"));
      found = this.wordsStarting(prefix).then(function (candidates) {
        // lunr.TokenSet.fromClause reads an edit distance if the key is there at all
        var probe = clause.editDistance ? { term: term, editDistance: clause.editDistance } : { term: term };
        return lunr.TokenSet.fromArray(candidates).intersect(lunr.TokenSet.fromClause(probe)).toArray();
      }).then(function (terms) {
        return self.loadTerms(terms).then(function () {
          // a term whose chunk failed to load is left out (the answer is flagged incomplete)
          return terms.filter(function (t) { return self.loaded(t); });
        });
      });
    }
    return Promise.all([found].concat(also.map(function (t) {
      return self.has(t).then(function (yes) { return yes ? t : null; });
    }))).then(function (lists) {
      var out = lists[0].slice();
      lists.slice(1).forEach(function (t) { if (t !== null && out.indexOf(t) === -1) out.push(t); });
      return out;
    });
  };

  // Load the term chunks holding `terms` (terms of the archive).
  Engine.prototype.loadTerms = function (terms) {
    var self = this, chunks = [];
    terms.forEach(function (t) {
      self.termChunksOf(t).forEach(function (id) { if (chunks.indexOf(id) === -1) chunks.push(id); });
    });
    return Promise.all(chunks.map(function (id) { return self.termChunk(id); }));
  };

  // A term's postings: per field, the papers holding it, how often, and the field's length;
  // `parts`, its row in each tier's chunk that has it (each row's papers are numbered from 0,
  // and a tier's papers all come after the previous tier's).
  Engine.prototype.postings = function (term) {
    var cached = this._postings.get(term);
    if (cached) return cached;
    var self = this, parts = [];
    this.termChunksOf(term).forEach(function (id) {
      var chunk = self._chunks.get(id), row = chunk ? chunk.terms.get(term) : undefined;
      if (row !== undefined) parts.push({ chunk: id, row: row, data: chunk.rows[row] });
    });
    var fields = [], count = 0;
    for (var f = 0; f < this.fields.length; f++) {
      var n = 0, p, i;
      for (p = 0; p < parts.length; p++) n += parts[p].data[f + 1].length / 3;
      var docs = new Int32Array(n), tfs = new Int32Array(n), lens = new Int32Array(n), at = 0;
      for (p = 0; p < parts.length; p++) {
        var flat = parts[p].data[f + 1], doc = 0;
        for (i = 0; i < flat.length; i += 3, at++) {
          doc += flat[i];
          docs[at] = doc;
          tfs[at] = flat[i + 1];
          lens[at] = flat[i + 2];
        }
      }
      fields.push({ docs: docs, tfs: tfs, lens: lens });
      count += n;
    }
    var idf = Math.log(1 + Math.abs((this.papers - count + 0.5) / (count + 0.5))); // lunr.idf
    cached = { term: term, parts: parts.map(function (part) { return { chunk: part.chunk, row: part.row }; }),
               fields: fields, idf: idf };
    this._postings.set(term, cached);
    return cached;
  };

  /* Everything a query's clauses stand for, loaded: per clause, per term the pipeline makes of
   * it, the expanded terms. */
  Engine.prototype.prepare = function (query) {
    var self = this;
    return Promise.all(query.clauses.map(function (clause) {
      var terms = clause.usePipeline ? self.searchPipeline.runString(clause.term, { fields: clause.fields }) : [clause.term];
      return Promise.all(terms.map(function (term) {
        // lunr sets clause.term to each term of the pipeline before expanding it
        return self.expand(clause, term);
      }));
    }));
  };

  /* lunr.Index.prototype.query over the loaded postings, in three steps (`search` runs each in
   * a task of its own): `match` finds the (field, paper) pairs in lunr's order and the required
   * and prohibited sets, `score` the dot products with the query vectors, `rank` the papers'
   * scores, best first ([{id, score}]). Sets and pairs are numbers in typed arrays (at 100k
   * papers a common word has tens of thousands of postings); which terms matched a paper is
   * worked out only for the results shown (`matched`). */
  Engine.prototype.match = function (query, expansions) {
    var self = this, lunr = this.lunr, fields = this.fields, nf = fields.length, papers = this.papers;
    var REQUIRED = lunr.Query.presence.REQUIRED, PROHIBITED = lunr.Query.presence.PROHIBITED;
    var fieldIndex = {};
    fields.forEach(function (f, i) { fieldIndex[f] = i; });
    var queryVectors = fields.map(function () { return new Map(); });
    var seen = new Uint8Array(nf * papers), order = []; // (field, paper) pairs as f * papers + paper, in lunr's order
    var termFieldCache = new Set();
    var required = {}, prohibited = {};
    query.clauses.forEach(function (clause, c) {
      var clauseMatches = emptySet(papers);
      var perTerm = expansions[c];
      for (var m = 0; m < perTerm.length; m++) {
        var expanded = perTerm[m];
        if (expanded.length === 0 && clause.presence === REQUIRED) {
          clause.fields.forEach(function (field) { required[field] = emptySet(papers); });
          break;
        }
        expanded.forEach(function (term) {
          var posting = self.postings(term);
          clause.fields.forEach(function (field) {
            var f = fieldIndex[field], docs = posting.fields[f].docs, i;
            if (clause.presence === REQUIRED) {
              for (i = 0; i < docs.length; i++) clauseMatches[docs[i]] = 1;
              if (required[field] === undefined) required[field] = COMPLETE;
            }
            if (clause.presence === PROHIBITED) {
              var set = prohibited[field] || emptySet(papers);
              for (i = 0; i < docs.length; i++) set[docs[i]] = 1;
              prohibited[field] = set;
              return;
            }
            var vector = queryVectors[f];
            vector.set(term, (vector.get(term) || 0) + clause.boost);
            var key = term + "/" + field;
            if (termFieldCache.has(key)) return;
            var base = f * papers;
            for (i = 0; i < docs.length; i++) {
              if (!seen[base + docs[i]]) { seen[base + docs[i]] = 1; order.push(base + docs[i]); }
            }
            termFieldCache.add(key);
          });
        });
      }
      if (clause.presence === REQUIRED) {
        clause.fields.forEach(function (field) { required[field] = intersect(required[field], clauseMatches); });
      }
    });
    var allRequired = COMPLETE, allProhibited = emptySet(papers);
    fields.forEach(function (field) {
      if (required[field] !== undefined) allRequired = intersect(allRequired, required[field]);
      if (prohibited[field] !== undefined) allProhibited = union(allProhibited, prohibited[field]);
    });
    return { query: query, queryVectors: queryVectors, order: order, allRequired: allRequired, allProhibited: allProhibited };
  };

  // Each paper's dot product with each field's query vector, and the vectors' lengths.
  Engine.prototype.score = function (state) {
    var self = this, fields = this.fields, nf = fields.length, papers = this.papers, queryVectors = state.queryVectors;
    var m = this.manifest, k1 = m.k1, b = m.b;
    var dots = new Float64Array(nf * papers);
    var magnitudes = queryVectors.map(function (vector, f) {
      var sum = 0, base = f * papers, boostOfField = m.boosts[f], average = self.average[f];
      vector.forEach(function (boost, term) {
        sum += boost * boost;
        var posting = self.postings(term), field = posting.fields[f], idf = posting.idf;
        var docs = field.docs, tfs = field.tfs, lens = field.lens;
        for (var i = 0; i < docs.length; i++) {
          // lunr.Builder's weight, in its order of operations, rounded as lunr stores it
          var tf = tfs[i];
          var score = idf * ((k1 + 1) * tf) / (k1 * (1 - b + b * (lens[i] / average)) + tf);
          score *= boostOfField;
          dots[base + docs[i]] += boost * (Math.round(score * 1000) / 1000);
        }
      });
      return Math.sqrt(sum);
    });
    state.dots = dots;
    state.magnitudes = magnitudes;
    return state;
  };

  // The papers lunr answers with, in lunr's order before sorting, then best first.
  Engine.prototype.rank = function (state) {
    var fields = this.fields, nf = fields.length, papers = this.papers, order = state.order;
    var dots = state.dots, magnitudes = state.magnitudes, allRequired = state.allRequired, allProhibited = state.allProhibited;
    if (state.query.isNegated()) {
      order = [];
      for (var d = 0; d < papers; d++) for (var g = 0; g < nf; g++) order.push(g * papers + d);
    }
    var results = [], at = new Int32Array(papers).fill(-1);
    for (var j = 0; j < order.length; j++) {
      var pair = order[j], doc = pair % papers, f = (pair - doc) / papers;
      if (!contains(allRequired, doc) || allProhibited[doc]) continue;
      var score = dots[pair] / magnitudes[f] || 0;
      if (at[doc] >= 0) results[at[doc]].score += score;
      else {
        at[doc] = results.length;
        results.push({ id: doc, score: score });
      }
    }
    return results.sort(function (x, y) { return y.score - x.score; });
  };

  // The terms of `answer` that paper `id` holds (for highlighting), as lunr's match data has them.
  Engine.prototype.matched = function (answer, id) {
    var self = this, out = [], lunr = this.lunr;
    answer.query.clauses.forEach(function (clause, c) {
      if (clause.presence === lunr.Query.presence.PROHIBITED) return;
      answer.expansions[c].forEach(function (expanded) {
        expanded.forEach(function (term) {
          var posting = self.postings(term);
          var holds = clause.fields.some(function (field) {
            var docs = posting.fields[self.fields.indexOf(field)].docs, lo = 0, hi = docs.length;
            while (lo < hi) { var mid = (lo + hi) >> 1; if (docs[mid] < id) lo = mid + 1; else hi = mid; }
            return lo < docs.length && docs[lo] === id;
          });
          if (holds && out.indexOf(term) === -1) out.push(term);
        });
      });
    });
    return out;
  };

  /* A lunr.Query's answer over the whole archive: {results, expansions, incomplete}, where
   * `incomplete` says a file it needed could not be loaded. */
  Engine.prototype.search = function (query) {
    var self = this, before = this.failures;
    var expansions;
    return this.prepare(query).then(function (found) {
      expansions = found;
      return later(function () { // decode the postings: a common word's are large
        expansions.forEach(function (perTerm) { perTerm.forEach(function (terms) { terms.forEach(self.postings, self); }); });
      });
    }).then(function () {
      return later(function () { return self.match(query, expansions); });
    }).then(function (state) {
      return later(function () { return self.score(state); });
    }).then(function (state) {
      return later(function () {
        return { query: query, results: self.rank(state), expansions: expansions, incomplete: self.failures > before };
      });
    });
  };

  // ---- positions: phrases and hyphenated names -------------------------------------------

  Engine.prototype.positions = function (terms) {
    var self = this;
    var chunks = [];
    terms.forEach(function (t) {
      self.postings(t).parts.forEach(function (part) {
        if (chunks.indexOf(part.chunk) === -1) chunks.push(part.chunk);
      });
    });
    return Promise.all(chunks.map(function (id) { return self.file("p" + id); })).then(function (files) {
      var byChunk = new Map();
      chunks.forEach(function (id, i) { byChunk.set(id, files[i]); });
      var out = new Map(); // term -> per field: Map(paper -> [positions])
      terms.forEach(function (t) {
        var posting = self.postings(t);
        out.set(t, posting.fields.map(function (field, f) {
          // the tiers' rows joined, as the postings are (a row starts from position 0 again)
          var flat = [].concat.apply([], posting.parts.map(function (part) {
            var file = byChunk.get(part.chunk);
            return file ? file[part.row][f] : [];
          }));
          var map = new Map(), at = 0;
          for (var i = 0; i < field.docs.length; i++) {
            var list = [], p = 0;
            for (var j = 0; j < field.tfs[i]; j++) { p += flat[at++]; list.push(p); }
            map.set(field.docs[i], list);
          }
          return map;
        }));
      });
      return out;
    });
  };

  /* Which of `ids` hold `sequence` (terms, null where a stop word stood) as consecutive words
   * in one field; each slot may be any of several terms (a word being typed). */
  Engine.prototype.holding = function (sequence, ids) {
    var slots = sequence.map(function (slot) { return slot === null ? null : [].concat(slot); });
    var terms = [];
    slots.forEach(function (slot) { (slot || []).forEach(function (t) { if (terms.indexOf(t) === -1) terms.push(t); }); });
    var fields = this.fields;
    return this.positions(terms).then(function (at) {
      var out = new Set();
      ids.forEach(function (id) {
        for (var f = 0; f < fields.length; f++) {
          var starts = null;
          for (var s = 0; s < slots.length; s++) {
            if (slots[s] === null) continue;
            var here = new Set();
            slots[s].forEach(function (t) { (at.get(t)[f].get(id) || []).forEach(function (p) { here.add(p - s); }); });
            if (starts !== null) here.forEach(function (p) { if (!starts.has(p)) here.delete(p); });
            starts = here;
            if (!starts.size) break;
          }
          if (starts && starts.size) { out.add(id); return; }
        }
      });
      return out;
    });
  };

  // ---- documents -----------------------------------------------------------------------

  // {id: [title, url, dates, abstract]} of the papers `ids` (null where a file failed).
  Engine.prototype.documents = function (ids) {
    var self = this, per = this.manifest.store, wanted = [];
    ids.forEach(function (id) { var k = Math.floor(id / per); if (wanted.indexOf(k) === -1) wanted.push(k); });
    return Promise.all(wanted.map(function (k) { return self.file("d" + k); })).then(function (files) {
      var out = {};
      ids.forEach(function (id) {
        var file = files[wanted.indexOf(Math.floor(id / per))];
        out[id] = file ? file[id % per] : null;
      });
      return out;
    });
  };

  // Results `from` to `from + n` of `answer`, with what a result line shows: [{id, doc, marks}]
  // (doc: [title, url, dates, abstract], null if its file failed; marks: where the matched
  // words are in the title and in the abstract, `marks`).
  Engine.prototype.page = function (answer, from, n) {
    var self = this, hits = answer.results.slice(from, from + n);
    return this.documents(hits.map(function (r) { return r.id; })).then(function (docs) {
      return hits.map(function (r) {
        var doc = docs[r.id], terms = self.matched(answer, r.id);
        return { id: r.id, doc: doc, marks: doc ? [self.marks(doc[0], terms), self.marks(doc[3], terms)] : [[], []] };
      });
    });
  };

  /* The search box's side of the engine, wherever it runs (on the page, or in the worker):
   * answers are numbered by the page, and only the latest is kept for paging through. */
  function Session(engine) {
    this.engine = engine;
    this.latest = { id: -1, answer: null };
  }

  // The answer to `text` as the page shows it: {mode, error, empty, incomplete, count}.
  Session.prototype.find = function (text, id) {
    var self = this;
    return this.engine.find(text).then(function (answer) {
      self.latest = { id: id, answer: answer };
      return { mode: answer.mode, error: answer.error || null, empty: !!answer.empty, incomplete: !!answer.incomplete,
               count: answer.results.length };
    });
  };

  // Results `from` to `from + n` of answer `id` (`Engine.page`); none for an older answer.
  Session.prototype.page = function (id, from, n) {
    return this.latest.id === id ? this.engine.page(this.latest.answer, from, n) : Promise.resolve([]);
  };

  // Where `terms` (lunr terms) occur in `text`: [start, end, term] for each word whose stem, or
  // whose lower-case form, is one of them, in order.
  Engine.prototype.marks = function (text, terms) {
    var out = [], pattern = /[\p{L}\p{N}]+/gu, found, lunr = this.lunr;
    while ((found = pattern.exec(text))) {
      var lower = found[0].toLowerCase(), stem = lunr.stemmer(new lunr.Token(lower)).toString();
      var term = terms.indexOf(stem) !== -1 ? stem : terms.indexOf(lower) !== -1 ? lower : null;
      if (term !== null) out.push([found.index, found.index + found[0].length, term]);
    }
    return out;
  };

  // ---- the search box --------------------------------------------------------------------

  var SYNTAX = /(^|\s)[+-]\S|[:*~^]/; // lunr's operators: the reader means lunr's syntax
  var WORD_EDGE = /^[^\p{L}\p{N}_]+|[^\p{L}\p{N}_]+$/gu; // lunr.py's trimmer (Unicode \W)

  /* What the reader typed, as words: [{text, parts: [term or null], last}] and phrases:
   * [[term or null, ...]]. A part is a piece of a hyphenated name; null is a stop word. */
  Engine.prototype.read = function (text) {
    var self = this, lunr = this.lunr;
    var phrases = [], words = [];
    var rest = text.replace(/"([^"]*)("|$)/g, function (_, inner) { phrases.push(inner); return " "; });
    function terms(chunk) {
      return lunr.tokenizer(chunk).map(function (token) {
        var bare = token.toString().replace(WORD_EDGE, "");
        var made = bare ? self.readPipeline.run([new lunr.Token(bare, {})]) : [];
        return made.length ? made[0].toString() : null;
      });
    }
    rest.split(/\s+/).forEach(function (word) {
      if (!word) return;
      var tokens = lunr.tokenizer(word).map(function (t) { return t.toString().replace(WORD_EDGE, ""); });
      words.push({ text: word, tokens: tokens, parts: terms(word) });
    });
    var typing = words.length && !/[\s"]$/.test(text) && !/"[^"]*$/.test(text);
    if (typing) {
      var last = words[words.length - 1], token = last.tokens[last.tokens.length - 1];
      if (token && token.length >= 3 && last.parts[last.parts.length - 1] !== null) last.prefix = token.toLowerCase();
    }
    return { words: words, phrases: phrases.map(terms).filter(function (p) { return p.some(Boolean); }) };
  };

  // A lunr.Query of every word's terms, required (`all`) or not; typos as edit distances.
  Engine.prototype.queryOf = function (read, all, typos) {
    var lunr = this.lunr, query = new lunr.Query(this.fields), seen = [];
    var presence = all ? lunr.Query.presence.REQUIRED : lunr.Query.presence.OPTIONAL;
    function add(term, extra) {
      var key = term + "\u0000" + JSON.stringify(extra || {});
      if (seen.indexOf(key) !== -1) return;
      seen.push(key);
      var clause = { term: term, usePipeline: false, presence: presence, wildcard: lunr.Query.wildcard.NONE };
      Object.keys(extra || {}).forEach(function (k) { clause[k] = extra[k]; });
      query.clause(clause);
    }
    read.words.forEach(function (word) {
      word.parts.forEach(function (term, i) {
        if (term === null) return;
        if (typos && typos[term]) add(term, { editDistance: typos[term], within: term.charAt(0) });
        else if (word.prefix && i === word.parts.length - 1) add(word.prefix + "*", { also: [term] });
        else add(term);
      });
    });
    read.phrases.forEach(function (phrase) { phrase.forEach(function (term) { if (term !== null) add(term); }); });
    return query;
  };

  /* The search box's answer to `text`: {mode, results, query, error, incomplete}. mode:
   * "all" (every word), "any" (no paper had all, these have some), "typo" (words found
   * nowhere were taken as typos), "syntax" (lunr's syntax, as lunr answers it). */
  Engine.prototype.find = function (text) {
    var self = this, before = this.failures;
    return this.answer(text).then(function (answer) {
      answer.incomplete = self.failures > before;
      return answer;
    });
  };

  Engine.prototype.answer = function (text) {
    var self = this, lunr = this.lunr;
    text = text.replace(/\s+/g, " ").replace(/^ /, "");
    if (SYNTAX.test(text) && text.indexOf('"') === -1) {
      var query = new lunr.Query(this.fields);
      try {
        new lunr.QueryParser(text, query).parse();
      } catch (err) {
        if (err instanceof lunr.QueryParseError) return Promise.resolve({ mode: "syntax", results: [], error: err.message });
        throw err;
      }
      return this.search(query).then(function (answer) { answer.mode = "syntax"; return answer; });
    }
    var read = this.read(text);
    if (!read.words.some(function (w) { return w.parts.some(Boolean); }) && !read.phrases.length) {
      return Promise.resolve({ mode: "all", results: [], empty: true });
    }
    return this.ranked(read, "all", null).then(function (answer) {
      if (answer.results.length) return answer;
      return self.ranked(read, "any", null).then(function (any) {
        if (any.results.length) return any;
        var typos = self.typos(read, answer);
        if (!typos) return answer;
        return self.ranked(read, "all", typos).then(function (fixed) {
          return fixed.results.length ? fixed : self.ranked(read, "any", typos);
        }).then(function (fixed) {
          fixed.mode = "typo";
          return fixed.results.length ? fixed : answer;
        });
      });
    });
  };

  // Words whose terms are nowhere in the archive (not even as a prefix), and the edit distance
  // to retry each with: 1, or 2 for a word of 8 letters or more; none under 4 letters.
  Engine.prototype.typos = function (read, answer) {
    var typos = null;
    answer.query.clauses.forEach(function (clause, c) {
      if (clause.editDistance || answer.expansions[c].some(function (e) { return e.length; })) return;
      var term = clause.also ? clause.also[0] : clause.term;
      if (term.length < 4) return;
      typos = typos || {};
      typos[term] = term.length >= 8 ? 2 : 1;
    });
    return typos;
  };

  // A search with phrases kept to papers holding them (`all` only) and hyphenated names whole first.
  Engine.prototype.ranked = function (read, mode, typos) {
    var self = this, query = this.queryOf(read, mode === "all", typos);
    return this.search(query).then(function (answer) {
      answer.mode = mode;
      var ids = answer.results.map(function (r) { return r.id; });
      var slotOf = function (term, word, i) {
        return word && word.prefix && i === word.parts.length - 1 ? self.expandedOf(answer, word.prefix + "*") : term;
      };
      var phrases = mode === "all" ? read.phrases : [];
      var names = read.words.filter(function (w) { return w.parts.filter(Boolean).length > 1; }).map(function (w) {
        return w.parts.map(function (t, i) { return t === null ? null : slotOf(t, w, i); });
      });
      var steps = phrases.map(function (p) { return self.holding(p, ids); });
      return Promise.all(steps.concat(names.map(function (n) { return self.holding(n, ids); }))).then(function (sets) {
        var kept = answer.results.filter(function (r) {
          return sets.slice(0, phrases.length).every(function (s) { return s.has(r.id); });
        });
        var whole = sets.slice(phrases.length);
        if (whole.length) {
          kept.forEach(function (r) { r.whole = whole.every(function (s) { return s.has(r.id); }); });
          kept = kept.filter(function (r) { return r.whole; }).concat(kept.filter(function (r) { return !r.whole; }));
        }
        answer.results = kept;
        return answer;
      });
    });
  };

  Engine.prototype.expandedOf = function (answer, term) {
    var c = answer.query.clauses.findIndex(function (clause) { return clause.term === term; });
    return c === -1 ? [] : [].concat.apply([], answer.expansions[c]);
  };

  // ---- loading files by <script> ---------------------------------------------------------

  // The URL of index file `key` ("t3": search/t/3.js, as `urls.search_file` names it), beside
  // the manifest at `base`.
  function fileUrl(key, base) {
    return new URL(key.charAt(0) + "/" + key.slice(1) + ".js", base).href;
  }

  // A `load` for Engine in a page: each file by a <script> next to the manifest's.
  function scriptLoader(base) {
    return function (key) {
      return new Promise(function (resolve, reject) {
        var script = document.createElement("script");
        script.src = fileUrl(key, base);
        script.async = true;
        script.onload = function () {
          var all = window.SITEGEN_INDEX || {}, data = all[key];
          delete all[key];
          script.remove();
          if (data === undefined) reject(new Error("no data in " + script.src)); else resolve(data);
        };
        script.onerror = function () { script.remove(); reject(new Error("could not load " + script.src)); };
        document.head.appendChild(script);
      });
    };
  }

  // The data of an index file from its text, without running it (in a worker, which fetches
  // the files: the text is `(...)["key"]=JSON.parse('...');`, a JSON string literal in which
  // the build escaped only backslash, quote and U+2028/2029).
  function parseIndexFile(text) {
    var start = text.indexOf("JSON.parse('") + 12, end = text.lastIndexOf("');");
    if (start < 12 || end < start) throw new Error("not a search index file");
    return JSON.parse(text.slice(start, end).replace(/\\(\\|'|u2028|u2029)/g, function (_, c) {
      return c === "u2028" ? "\u2028" : c === "u2029" ? "\u2029" : c;
    }));
  }

  // A `load` for Engine in a worker: each file fetched (in parallel) next to the manifest.
  function fetchLoader(base) {
    return function (key) {
      return fetch(fileUrl(key, base)).then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status + " for " + response.url);
        return response.text();
      }).then(parseIndexFile);
    };
  }

  var api = { Engine: Engine, Session: Session, scriptLoader: scriptLoader, fetchLoader: fetchLoader,
              parseIndexFile: parseIndexFile };
  if (typeof module !== "undefined" && module.exports) module.exports = api;
  else root.sitegenSearch = api;
})(typeof self !== "undefined" ? self : this);
