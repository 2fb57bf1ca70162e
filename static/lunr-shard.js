/* A search shard's compact form (see sitegen/search.py, `compact`) back to lunr's own JSON.
 *
 * The inverted index is rebuilt from the field vectors (a term's postings in a field are the
 * documents whose vector in that field has the term); vector entries come as (term index
 * minus the previous one, score in thousandths). The result is what lunr.py's
 * `Index.serialize()` wrote, and goes to `lunr.Index.load` unchanged; a test compares the two. */
(function (root) {
  "use strict";

  function expand(shard) {
    var fields = shard.fields, terms = shard.terms, refs = shard.refs, vectors = shard.vectors;
    var postings = new Array(terms.length);
    for (var t = 0; t < terms.length; t++) {
      var posting = {};
      for (var f = 0; f < fields.length; f++) posting[fields[f]] = {};
      posting._index = t;
      postings[t] = posting;
    }
    var fieldVectors = new Array(refs.length * fields.length);
    for (var d = 0; d < refs.length; d++) {
      var ref = refs[d];
      for (var g = 0; g < fields.length; g++) {
        var flat = vectors[d][g], elements = new Array(flat.length), term = 0;
        for (var k = 0; k < flat.length; k += 2) {
          term += flat[k];
          elements[k] = term;
          elements[k + 1] = flat[k + 1] / 1000;
          postings[term][fields[g]][ref] = {};
        }
        fieldVectors[d * fields.length + g] = [fields[g] + "/" + ref, elements];
      }
    }
    var order = terms.map(function (_, i) { return i; });
    order.sort(function (a, b) { return terms[a] < terms[b] ? -1 : terms[a] > terms[b] ? 1 : 0; });
    return {
      version: shard.version,
      fields: fields,
      fieldVectors: fieldVectors,
      invertedIndex: order.map(function (i) { return [terms[i], postings[i]]; }),
      pipeline: shard.pipeline
    };
  }

  // {index: lunr.Index, store: {ref: [title, url, dates, snippet]}}: the index lunr.Index.load
  // would make of expand(shard), with two differences in how it is held, both made lazily
  // because a query needs a handful of terms:
  // - a term's posting objects are made the first time a query looks the term up, not all
  //   at load time (lunr only reads the inverted index by `invertedIndex[term]`);
  // - the token set (a trie of every term, which lunr intersects with each query clause) is
  //   built only for a clause with a wildcard or an edit distance. lunr only calls
  //   `tokenSet.intersect(clauseSet).toArray()`; a plain word's clause set is a chain of
  //   single edges, which matches that word or nothing, so a lookup answers it. Building the
  //   trie was about 60% of the cost of loading a shard.
  function load(lunr, shard) {
    var fields = shard.fields, terms = shard.terms, refs = shard.refs, vectors = shard.vectors;
    var nf = fields.length, store = {}, fieldVectors = {}, termIds = new Map();
    var counts = new Int32Array(terms.length * nf + 1);
    for (var d = 0; d < refs.length; d++) {
      store[refs[d]] = shard.store[d];
      for (var g = 0; g < nf; g++) {
        var flat = vectors[d][g], elements = new Array(flat.length), term = 0;
        for (var k = 0; k < flat.length; k += 2) {
          term += flat[k];
          elements[k] = term;
          elements[k + 1] = flat[k + 1] / 1000;
          counts[term * nf + g + 1]++;
        }
        fieldVectors[fields[g] + "/" + refs[d]] = new lunr.Vector(elements);
      }
    }
    for (var t = 0; t < terms.length; t++) termIds.set(terms[t], t);

    // (term, field) -> documents, as offsets into one array (compressed sparse rows), so the
    // shard's vectors need not be kept to find postings later.
    var starts = counts;
    for (var i = 1; i < starts.length; i++) starts[i] += starts[i - 1];
    var docs = new Int32Array(starts[starts.length - 1]);
    var fill = starts.slice(0, -1);
    for (d = 0; d < refs.length; d++) {
      for (g = 0; g < nf; g++) {
        var elems = fieldVectors[fields[g] + "/" + refs[d]].elements;
        for (k = 0; k < elems.length; k += 2) docs[fill[elems[k] * nf + g]++] = d;
      }
    }
    fill = null;

    function posting(t) {
      var result = {};
      for (var g = 0; g < nf; g++) {
        var field = result[fields[g]] = {};
        for (var i = starts[t * nf + g]; i < starts[t * nf + g + 1]; i++) field[refs[docs[i]]] = {};
      }
      result._index = t;
      return result;
    }
    var made = Object.create(null);
    var invertedIndex = new Proxy(made, {
      get: function (target, term) {
        if (typeof term !== "string") return undefined;
        if (!(term in target)) {
          var t = termIds.get(term);
          if (t === undefined) return undefined;
          target[term] = posting(t);
        }
        return target[term];
      }
    });
    var trie = null;
    var tokenSet = {
      intersect: function (clauseSet) {
        var word = plainWord(clauseSet);
        if (word !== null) return { toArray: function () { return termIds.has(word) ? [word] : []; } };
        if (!trie) trie = lunr.TokenSet.fromArray(terms.slice().sort());
        return trie.intersect(clauseSet);
      }
    };
    var index = new lunr.Index({
      invertedIndex: invertedIndex,
      fieldVectors: fieldVectors,
      tokenSet: tokenSet,
      fields: fields,
      pipeline: lunr.Pipeline.load(shard.pipeline)
    });
    return { index: index, store: store };
  }

  // The word a token set accepts if it is a chain of single, non-wildcard edges ending in
  // its only final node (what lunr.TokenSet.fromString makes of a plain word); else null.
  function plainWord(set) {
    var word = "", node = set;
    for (;;) {
      var keys = Object.keys(node.edges);
      if (!keys.length) return node.final && word ? word : null;
      if (keys.length !== 1 || keys[0] === "*" || node.final) return null;
      word += keys[0];
      node = node.edges[keys[0]];
    }
  }

  root.sitegenShard = { expand: expand, load: load };
})(typeof window !== "undefined" ? window : this);
