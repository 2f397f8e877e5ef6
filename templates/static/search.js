// Codepages search page: code lookup from prefix shards, words through Pagefind's JS API.
// Plain modern JavaScript, no framework, no build step. See codepages/search.py for the index.

const config = JSON.parse(document.getElementById("search-config").textContent);
const form = document.getElementById("search-form");
const input = document.getElementById("search-input");
const setSelect = document.getElementById("search-set");
const chapterSelect = document.getElementById("search-chapter");
const statusLine = document.getElementById("search-status");
const list = document.getElementById("search-results");
const moreButton = document.getElementById("search-more");

const DOCS_PER_BATCH = 4; // Pagefind documents whose fragments one batch of word results loads
const CODE_RESULTS = 100; // code lookup rows shown at most
const WORD_DELAY = 220; // ms of quiet typing before a word search
const CODE_DELAY = 40;

// ---------------------------------------------------------------------------------------------
// Code lookup

/** The form codes are looked up by: upper case, no dots or spaces ("m54.50" → "M5450"). */
export function normalise(text) {
  return text.replace(/[.\s]/g, "").toUpperCase();
}

/** Whether the text is typed like a code (or code prefix) rather than words. */
export function looksLikeCode(text) {
  const t = text.trim();
  return /^[A-Za-z0-9][A-Za-z0-9.\-]*$/.test(t) && (/\d/.test(t) || t.length === 1);
}

const shards = new Map(); // prefix → Promise<shard | null>

function shard(prefix) {
  if (!shards.has(prefix)) {
    const url = `${config.codes}${encodeURIComponent(prefix[0])}/${encodeURIComponent(prefix)}.json`;
    shards.set(prefix, fetch(url).then((r) => (r.ok ? r.json() : null)).catch(() => null));
  }
  return shards.get(prefix);
}

/**
 * Codes starting with the typed text: {rows, exact, complete, total}.
 * Fetches the shard of the first min(len, 3) characters, then one character deeper while
 * the shard says more codes lie under the typed prefix than it lists.
 */
export async function lookupCode(text) {
  const q = normalise(text);
  if (!q || /[^A-Z0-9-]/.test(q)) return { rows: [], exact: [], complete: true, total: 0 };
  let current = await shard(q.slice(0, Math.min(q.length, 3)));
  while (current && current.more && q.length > current.prefix.length) {
    const child = q.slice(0, current.prefix.length + 1);
    if (!current.more.includes(child)) break;
    current = await shard(child);
  }
  if (!current) return { rows: [], exact: [], complete: true, total: 0 };
  const matching = current.codes.filter((row) => normalise(row[0]).startsWith(q));
  const exact = matching.filter((row) => normalise(row[0]) === q);
  const rest = matching.filter((row) => normalise(row[0]) !== q);
  const complete = !current.more || q.length > current.prefix.length;
  return { rows: [...exact, ...rest], exact, complete, total: complete ? matching.length : current.total };
}

// ---------------------------------------------------------------------------------------------
// Words: Pagefind

let pagefindModule = null;

async function pagefind() {
  if (!pagefindModule) {
    pagefindModule = import(config.pagefind).then(async (module) => {
      // no web worker: one script fewer to download, and the search is small
      await module.options({ noWorker: true, excerptLength: 16 });
      return module;
    });
  }
  return pagefindModule;
}

function plainWord(word) {
  return word.toLowerCase().replace(/[^\p{L}\p{N}]/gu, "");
}

/** How many of the typed terms the words at `locations` match (by a stem-like prefix). */
function termsMatched(terms, words, locations) {
  const found = locations.map((at) => plainWord(words[at] || ""));
  return terms.filter((term) => found.some((word) => wordMatches(word, term))).length;
}

function wordMatches(word, term) {
  return word.startsWith(term) || (term.startsWith(word) && word.length >= 3);
}

const EXCERPT_WORDS = 18;
const MARKS = { h: "header", d: "deleted", n: "new", r: "revised", t: "terminated" };

/** A heading id is the code page's address after its marks ("h/icd-10-cm/M54/M54.5/"). */
function parseAnchor(id) {
  const slash = id.indexOf("/");
  const marks = [...id.slice(0, slash)].map((letter) => MARKS[letter]).filter(Boolean);
  return { url: id.slice(slash), marks };
}

/**
 * The other names of a code in its body: "Also searched as: a; b;" (editors' synonyms) and
 * "Applicable to: c; d;" (the release's inclusion terms), as [start, end) word ranges.
 */
function otherTitles(words, from, to) {
  const titles = [];
  let at = from;
  while (at < to) {
    const intro = words[at] === "Also" && words[at + 1] === "searched" && words[at + 2] === "as:" ? 3
      : words[at] === "Applicable" && words[at + 1] === "to:" ? 2 : 0;
    if (!intro) break;
    at += intro;
    let start = at;
    while (at < to) {
      const word = words[at++];
      if (word.endsWith(";") || word.endsWith(";.")) {
        titles.push([start, at]);
        start = at;
        if (word.endsWith(";.")) break;
      }
    }
  }
  return titles;
}

// Words a name's length is not counted in ("Fracture of hip NOS" is as long as "hip fracture").
const LIGHT = new Set(["of", "and", "or", "the", "a", "an", "in", "on", "to", "with", "by", "for", "nos"]);

/** Whether the words [start, end) hold every term; begin with them in order; are exactly them. */
function titleMatch(terms, words, start, end) {
  const title = words.slice(start, end).map(plainWord).filter(Boolean);
  const all = terms.every((term) => title.some((word) => wordMatches(word, term)));
  const leading = all && terms.every((term, i) => title[i] && wordMatches(title[i], term));
  const exact = leading && title.length === terms.length;
  return { all, leading, exact, length: title.filter((word) => !LIGHT.has(word)).length };
}

/**
 * One result per code heading (Pagefind sub-result) of a loaded document. The excerpt is the
 * code's own text after its heading (synonyms, inclusion terms, description) around the first
 * match, with the matched words marked; a code with nothing but its descriptor has none.
 */
function codeResults(data, docRank, text) {
  const terms = [...new Set(text.split(/\s+/).map(plainWord).filter(Boolean).map((t) => t.slice(0, Math.max(3, Math.min(t.length, 4)))))];
  const codeSet = (data.raw_url || data.url).split("/").filter(Boolean)[0];
  const words = data.content.split(/\s+/);
  const starts = data.anchors.map((anchor) => anchor.location).sort((a, b) => a - b);
  const out = [];
  for (const sub of data.sub_results) {
    const anchor = sub.anchor;
    if (!anchor || !anchor.id) continue;
    const { url, marks } = parseAnchor(anchor.id);
    const descriptor = (anchor.text || sub.title || "").trim();
    const bodyStart = anchor.location + (descriptor ? descriptor.split(/\s+/).length : 0);
    const bodyEnd = starts.find((at) => at > anchor.location) ?? words.length;
    const matched = new Set(sub.locations);
    const firstInBody = sub.locations.filter((at) => at >= bodyStart && at < bodyEnd).sort((a, b) => a - b)[0];
    let excerpt = null;
    if (bodyEnd > bodyStart) {
      const from = Math.max(bodyStart, (firstInBody ?? bodyStart) - 4);
      const to = Math.min(bodyEnd, from + EXCERPT_WORDS);
      excerpt = { words: words.slice(from, to), marked: (i) => matched.has(from + i),
                  before: from > bodyStart, after: to < bodyEnd };
    }
    // the descriptor and the other names: which holds every term, begins with them, equals them
    const titles = [[anchor.location, bodyStart], ...otherTitles(words, bodyStart, bodyEnd)]
      .map(([start, end]) => titleMatch(terms, words, start, end));
    const best = titles.find((t) => t.exact) || titles.find((t) => t.leading) || titles.find((t) => t.all);
    const code = url.split("/").filter(Boolean).pop();
    const inHeading = sub.locations.filter((at) => at < bodyStart).sort((a, b) => a - b);
    out.push({
      code, codeSet, url, descriptor, excerpt, marks,
      covered: termsMatched(terms, words, sub.locations),
      exact: Boolean(best && best.exact),
      inTitle: Boolean(best),
      leading: Boolean(best && best.leading),
      titleLength: best ? best.length : Infinity,
      inHeading: termsMatched(terms, words, inHeading),
      score: sub.weighted_locations.reduce((sum, w) => sum + w.balanced_score, 0),
      terms: terms.length,
      docRank,
    });
  }
  return out;
}

/**
 * Coders' order: a code whose descriptor (or one of its other names) is exactly the words typed;
 * then codes with every word in one name — the name with the fewest other words first ("Fracture
 * of hip NOS" before "Periprosthetic fracture around internal prosthetic hip joint"), then the
 * broadest code (S72.0 before S72.001), then a name that begins with the words typed; then codes
 * with every word somewhere in their text; then those with the most words; then Pagefind's scores.
 */
function byRelevance(a, b) {
  const named = a.inTitle && b.inTitle;
  return Number(b.exact) - Number(a.exact)
    || Number(b.inTitle) - Number(a.inTitle)
    || (named ? a.titleLength - b.titleLength : 0)
    || (named ? normalise(a.code).length - normalise(b.code).length : 0)
    || Number(b.leading) - Number(a.leading)
    || b.covered - a.covered || b.inHeading - a.inHeading
    || b.score - a.score || a.docRank - b.docRank;
}

// ---------------------------------------------------------------------------------------------
// Rendering

const setNames = config.sets;

function span(text, className) {
  const element = document.createElement("span");
  element.textContent = text;
  element.className = className;
  return element;
}

function excerptNode({ words, marked, before, after }) {
  const p = document.createElement("p");
  p.className = "excerpt";
  if (before) p.append("… ");
  words.forEach((word, i) => {
    if (i) p.append(" ");
    if (marked(i)) {
      const mark = document.createElement("mark");
      mark.textContent = word;
      p.append(mark);
    } else p.append(word);
  });
  if (after) p.append(" …");
  return p;
}

function resultItem({ code, codeSet, url, descriptor, marks, excerpt }) {
  const li = document.createElement("li");
  const a = document.createElement("a");
  a.href = url;
  a.className = "result";
  a.dataset.code = code;
  a.append(span(code, "code"), " ", span(descriptor, "descriptor"), " ", span(setNames[codeSet] || codeSet, "set"));
  for (const mark of marks) a.append(" ", span(mark, mark === "header" ? "header-code" : `badge badge-${mark}`));
  li.append(a);
  if (excerpt) li.append(excerptNode(excerpt));
  return li;
}

function show(items, message, append = false) {
  if (!append) list.replaceChildren();
  list.append(...items.map(resultItem));
  statusLine.textContent = message;
}

function plural(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}

// ---------------------------------------------------------------------------------------------
// Running a search

let generation = 0; // a newer search makes older ones stop writing
let wordState = null; // {search, next, text}: the word search whose results are shown
let lastExact = null; // the code page an Enter opens

function filters() {
  const chosen = {};
  if (setSelect.value) chosen.set = setSelect.value;
  if (chapterSelect && chapterSelect.value && !chapterSelect.disabled) chosen.chapter = chapterSelect.value;
  return chosen;
}

async function runCodeSearch(text, mine) {
  const found = await lookupCode(text);
  if (mine !== generation) return null;
  const set = setSelect.value;
  const rows = found.rows.filter((row) => !set || row[2] === set);
  lastExact = found.exact.find((row) => !set || row[2] === set) || null;
  const items = rows.slice(0, CODE_RESULTS).map((row) => ({
    code: row[0], descriptor: row[1], codeSet: row[2], url: row[3],
    marks: [...(row[4] === 0 && row[2] === "icd-10-cm" && !row[0].includes("-") ? ["header"] : []), ...(row[5] ? [row[5]] : [])],
  }));
  const typed = text.trim();
  let message;
  if (!rows.length) message = `No code starts with ${typed}.`;
  else if (found.complete) message = `${plural(rows.length, "code starts", "codes start")} with ${typed}.`;
  else message = `${plural(found.total, "code starts", "codes start")} with ${typed}; showing the ${rows.length} broadest. Type more characters to narrow.`;
  if (lastExact) message = `Exact match ${lastExact[0]}. ` + message;
  show(items, message);
  moreButton.hidden = true;
  return { rows: rows.length, exact: lastExact };
}

async function runWordSearch(text, mine) {
  statusLine.textContent = "Searching…";
  const module = await pagefind();
  const search = await module.search(text, { filters: filters() });
  if (mine !== generation || !search) return null;
  wordState = { search, next: 0, text };
  lastExact = null;
  if (!search.results.length) {
    show([], `No codes match “${text}”.`);
    moreButton.hidden = true;
    return { rows: 0 };
  }
  return loadMoreWords(mine, false);
}

async function loadMoreWords(mine, append = true) {
  const { search, text } = wordState;
  const batch = search.results.slice(wordState.next, wordState.next + DOCS_PER_BATCH);
  const start = wordState.next;
  wordState.next += batch.length;
  const datas = await Promise.all(batch.map((result) => result.data()));
  if (mine !== generation) return null;
  // a code none of whose words holds a word typed (a stem or prefix match only) is not shown
  const items = datas.flatMap((data, i) => codeResults(data, start + i, text))
    .filter((item) => item.covered > 0).sort(byRelevance);
  const shown = (append ? list.children.length : 0) + items.length;
  const more = wordState.next < search.results.length;
  if (!shown && !more) {
    show([], `No codes match “${text}”.`);
    moreButton.hidden = true;
    return { rows: 0 };
  }
  show(items, `${plural(shown, "code", "codes")} found for “${text}”${more ? "; more results available" : ""}.`, append);
  moreButton.hidden = !more;
  return { rows: shown };
}

async function runSearch() {
  const mine = ++generation;
  const text = input.value.trim();
  updateAddress(text);
  if (chapterSelect) chapterSelect.disabled = Boolean(setSelect.value && setSelect.value !== "icd-10-cm");
  if (!text) {
    list.replaceChildren();
    statusLine.textContent = "";
    moreButton.hidden = true;
    lastExact = null;
    return null;
  }
  try {
    if (looksLikeCode(text)) {
      const found = await runCodeSearch(text, mine);
      if (found === null || found.rows || !/[A-Za-z]{2}/.test(text)) return found;
    }
    return await runWordSearch(text, mine);
  } catch (error) {
    if (mine === generation) {
      show([], "Search is not available just now. Browse the code sets below instead.");
      moreButton.hidden = true;
    }
    console.error(error);
    return null;
  }
}

function updateAddress(text) {
  const params = new URLSearchParams();
  if (text) params.set("q", text);
  if (setSelect.value) params.set("set", setSelect.value);
  if (chapterSelect && chapterSelect.value) params.set("chapter", chapterSelect.value);
  const query = params.toString();
  history.replaceState(null, "", query ? `?${query}` : location.pathname);
}

let timer = 0;
let pending = null;

function schedule() {
  clearTimeout(timer);
  const delay = looksLikeCode(input.value) ? CODE_DELAY : WORD_DELAY;
  pending = new Promise((resolve) => {
    timer = setTimeout(() => resolve(runSearch()), delay);
  });
}

// ---------------------------------------------------------------------------------------------
// Events: typing, filters, Enter, arrow keys

input.addEventListener("input", schedule);
setSelect.addEventListener("change", () => { pending = runSearch(); });
if (chapterSelect) chapterSelect.addEventListener("change", () => { pending = runSearch(); });
moreButton.addEventListener("click", async () => {
  const first = list.children.length;
  await loadMoreWords(generation).catch((error) => console.error(error));
  const next = list.children[first]?.querySelector("a");
  if (next) next.focus();
});

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearTimeout(timer);
  const result = await runSearch();
  if (result && result.exact) location.assign(result.exact[3]);
});

function resultLinks() {
  return [...list.querySelectorAll("a.result")];
}

input.addEventListener("keydown", (event) => {
  if (event.key === "ArrowDown") {
    const first = resultLinks()[0];
    if (first) {
      event.preventDefault();
      first.focus();
    }
  }
});

list.addEventListener("keydown", (event) => {
  const links = resultLinks();
  const at = links.indexOf(document.activeElement);
  if (at < 0) return;
  if (event.key === "ArrowDown" && at < links.length - 1) {
    event.preventDefault();
    links[at + 1].focus();
  } else if (event.key === "ArrowUp") {
    event.preventDefault();
    (at > 0 ? links[at - 1] : input).focus();
  } else if (event.key === "Escape") {
    event.preventDefault();
    input.focus();
  } else if (event.key === "Home") {
    event.preventDefault();
    links[0].focus();
  } else if (event.key === "End") {
    event.preventDefault();
    links[links.length - 1].focus();
  }
});

// ---------------------------------------------------------------------------------------------
// Start: fill the form from the address (the header's search box sends ?q=…)

const params = new URLSearchParams(location.search);
input.value = params.get("q") || "";
if (params.get("set") && [...setSelect.options].some((o) => o.value === params.get("set"))) setSelect.value = params.get("set");
if (chapterSelect && params.get("chapter") && [...chapterSelect.options].some((o) => o.value === params.get("chapter"))) {
  chapterSelect.value = params.get("chapter");
}
// An address asking for exactly one code (the header box, a bookmark) goes to that code's page,
// as the edge function does for visitors without JavaScript.
if (input.value) {
  pending = runSearch().then((result) => {
    if (result && result.exact && looksLikeCode(input.value)) location.replace(result.exact[3]);
    return result;
  });
}
input.focus();

// for tests and the byte benchmark: resolves when the current search has finished
window.codepagesSearch = { settled: () => pending, lookupCode, normalise, looksLikeCode };
