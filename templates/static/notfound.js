// The 404 page: when the address ends in something like a code, list the existing codes that
// share the longest prefix with it, from the code-lookup shards (templates/static/search.js reads
// the same files). Without JavaScript the page still links to the code sets and the search.
const config = document.querySelector("script[data-codes]");
const base = config ? config.dataset.codes : "/search/codes/";
const shards = new Map();

function shard(prefix) {
  if (!shards.has(prefix)) {
    shards.set(prefix, fetch(`${base}${encodeURIComponent(prefix[0])}/${encodeURIComponent(prefix)}.json`).then((r) => (r.ok ? r.json() : null)).catch(() => null));
  }
  return shards.get(prefix);
}

async function lookup(q) {
  let current = await shard(q.slice(0, Math.min(3, q.length)));
  while (current && current.more && q.length > current.prefix.length && current.more.includes(q.slice(0, current.prefix.length + 1))) {
    current = await shard(q.slice(0, current.prefix.length + 1));
  }
  return current ? current.codes.filter((row) => row[0].replace(/[.\s]/g, "").toUpperCase().startsWith(q)) : [];
}

async function suggest() {
  const parts = decodeURIComponent(location.pathname).split("/").filter(Boolean);
  if (parts.length && parts[parts.length - 1].toLowerCase() === "index.html") parts.pop();
  let q = (parts.pop() || "").replace(/[.\s]/g, "").toUpperCase();
  if (!/^[A-Z0-9]{2,8}$/.test(q)) return;
  let rows = [];
  while (q.length >= 1 && rows.length === 0) {
    rows = await lookup(q);
    if (rows.length === 0) q = q.slice(0, -1);
  }
  const section = document.getElementById("code-suggestions");
  if (rows.length === 0 || !section || !section.hidden) return; // the edge has filled it already
  const list = document.createElement("ul");
  list.className = "code-list";
  section.append(list);
  for (const [code, descriptor, , url] of rows.slice(0, 12)) {
    const item = document.createElement("li");
    const link = document.createElement("a");
    link.href = url;
    const codeSpan = document.createElement("span");
    codeSpan.className = "code";
    codeSpan.textContent = code;
    link.append(codeSpan, " ", descriptor);
    item.append(link);
    list.append(item);
  }
  section.hidden = false;
}

suggest();
