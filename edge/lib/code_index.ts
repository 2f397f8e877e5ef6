/**
 * The build's code lookup shards (`/search/codes/<P>/<PREFIX>.json`, see codepages/search/shards.py) read
 * at the edge: does a code exist, and which existing codes are nearest to one that does not.
 *
 * Shard: {"prefix", "total", "codes": [[code, descriptor, code_set, url, billable]], "more": [...]}
 * with prefixes normalised (upper case, no dot). The shard of the first one to three characters
 * lists the most general entries under it; `more` names the longer prefixes whose entries it
 * does not all list, one character deeper each. Shards are fetched from the site itself and
 * kept per isolate for a few minutes (a deploy starts new isolates).
 */

export interface CodeEntry {
  code: string;
  descriptor: string;
  codeSet: string;
  url: string;
  /** 1 billable, 0 header, null: not applicable */
  billable: number | null;
}

interface Shard {
  codes: CodeEntry[];
  more: Set<string>;
}

/** Reads a shard's JSON (null when there is none). */
export type ShardReader = (prefix: string) => Promise<unknown | null>;

const NORMALISE = /[.\s]/g;
const PREFIX = /^[A-Z0-9-]{1,16}$/;
const CACHE_TTL_MS = 5 * 60_000;
const CACHE_ENTRIES = 512;
/** at most this many shards are read per question (each one character deeper) */
const MAX_DEPTH = 6;

/** The form codes are looked up by: upper case, no dots or spaces (m54.50 → M5450). */
export function normaliseQuery(text: string): string {
  return text.replace(NORMALISE, "").toUpperCase();
}

function parseShard(json: unknown): Shard | null {
  if (json === null || typeof json !== "object") return null;
  const raw = json as { codes?: unknown; more?: unknown };
  if (!Array.isArray(raw.codes)) return null;
  const codes: CodeEntry[] = [];
  for (const row of raw.codes) {
    if (!Array.isArray(row) || typeof row[0] !== "string" || typeof row[2] !== "string") continue;
    codes.push({
      code: row[0],
      descriptor: typeof row[1] === "string" ? row[1] : "",
      codeSet: row[2],
      url: typeof row[3] === "string" ? row[3] : "",
      billable: typeof row[4] === "number" ? row[4] : null,
    });
  }
  const more = new Set(Array.isArray(raw.more) ? raw.more.filter((m) => typeof m === "string") : []);
  return { codes, more };
}

export class CodeIndex {
  private readonly cache = new Map<string, { at: number; shard: Promise<Shard | null> }>();

  constructor(private readonly read: ShardReader, private readonly now: () => number = Date.now) {}

  private shard(prefix: string): Promise<Shard | null> {
    const cached = this.cache.get(prefix);
    if (cached && this.now() - cached.at < CACHE_TTL_MS) return cached.shard;
    const shard = this.read(prefix).then(parseShard, () => null);
    if (this.cache.size >= CACHE_ENTRIES) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(prefix, { at: this.now(), shard });
    shard.then((s) => {
      if (s === null) this.cache.delete(prefix); // a failed read is not kept
    });
    return shard;
  }

  /** The shards a lookup of `key` reads, most general first. */
  private async shardsFor(key: string): Promise<Shard[]> {
    const shards: Shard[] = [];
    if (!PREFIX.test(key)) return shards;
    let prefix = key.slice(0, Math.min(3, key.length));
    for (let depth = 0; depth < MAX_DEPTH; depth++) {
      const shard = await this.shard(prefix);
      if (!shard) break;
      shards.push(shard);
      if (shard.codes.some((entry) => normaliseQuery(entry.code) === key)) break;
      const deeper = key.slice(0, prefix.length + 1);
      if (deeper.length === prefix.length || !shard.more.has(deeper)) break;
      prefix = deeper;
    }
    return shards;
  }

  /** The entry whose code is exactly `text` (any case, with or without the dot), or null. */
  async find(text: string, codeSet?: string): Promise<CodeEntry | null> {
    const key = normaliseQuery(text);
    for (const shard of await this.shardsFor(key)) {
      const entry = shard.codes.find((e) =>
        normaliseQuery(e.code) === key && (codeSet === undefined || e.codeSet === codeSet)
      );
      if (entry) return entry;
    }
    return null;
  }

  /** Existing codes sharing the longest prefix with `text` (most general first), at most `limit`. */
  async suggest(text: string, codeSet?: string, limit = 8): Promise<CodeEntry[]> {
    const key = normaliseQuery(text);
    const entries: CodeEntry[] = [];
    const seen = new Set<string>();
    for (const shard of await this.shardsFor(key)) {
      for (const entry of shard.codes) {
        if (codeSet !== undefined && entry.codeSet !== codeSet) continue;
        if (!seen.has(entry.code)) {
          seen.add(entry.code);
          entries.push(entry);
        }
      }
    }
    for (let length = key.length; length > 0; length--) {
      const prefix = key.slice(0, length);
      const near = entries.filter((entry) => normaliseQuery(entry.code).startsWith(prefix));
      if (near.length > 0) {
        // the longest shared prefix first, then the order of the shards (most general first)
        return near.slice(0, limit);
      }
    }
    return [];
  }
}

/** A shard reader that fetches `/search/codes/<P>/<PREFIX>.json` from `origin` (the site itself). */
export function fetchShards(origin: string, fetcher: typeof fetch = fetch): ShardReader {
  return async (prefix) => {
    const file = `${encodeURIComponent(prefix[0])}/${encodeURIComponent(prefix)}.json`;
    const response = await fetcher(`${origin}/search/codes/${file}`, {
      headers: { accept: "application/json" },
      redirect: "error",
      signal: AbortSignal.timeout(2000),
    });
    if (!response.ok) {
      await response.body?.cancel();
      return null;
    }
    return await response.json();
  };
}
