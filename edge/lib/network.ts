/**
 * The per-network guest allowance: fresh guest views counted per network (an IPv4 address, or
 * an IPv6 /64 — what one household, office or hospital usually shares) and UTC day, in the
 * database (db/migrations/0002 `codepages_guest_network_view`). A reader who discards cookies
 * gets at most `network_daily_views` protected pages per network per day.
 *
 * Stored is an HMAC of the network and the day under the current meter key, never the address.
 */
import { b64urlEncode } from "./b64.ts";
import type { Database } from "./db.ts";
import { StoreUnavailableError } from "./db.ts";
import type { Keyring } from "./keys.ts";

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function ipv4(text: string): string | null {
  const match = IPV4.exec(text);
  if (!match) return null;
  const parts = match.slice(1).map(Number);
  return parts.every((p) => p <= 255) ? parts.join(".") : null;
}

/** The first four groups of an IPv6 address, normalised; null when it is not one. */
function ipv6Prefix(text: string): string | null {
  if (!/^[0-9a-f:.]+$/i.test(text) || text.split("::").length > 2) return null;
  let groups: string[];
  const [head, tail] = text.split("::");
  const parse = (part: string) => (part === "" ? [] : part.split(":"));
  let headGroups = parse(head);
  let tailGroups = tail === undefined ? [] : parse(tail);
  // an embedded IPv4 (::ffff:1.2.3.4) counts as two groups
  const last = (tailGroups.length ? tailGroups : headGroups).at(-1);
  if (last && last.includes(".")) {
    const v4 = ipv4(last);
    if (!v4) return null;
    const [a, b, c, d] = v4.split(".").map(Number);
    const replaced = [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
    if (tailGroups.length) tailGroups = [...tailGroups.slice(0, -1), ...replaced];
    else headGroups = [...headGroups.slice(0, -1), ...replaced];
  }
  if (tail === undefined) {
    groups = headGroups;
  } else {
    const missing = 8 - headGroups.length - tailGroups.length;
    if (missing < 1) return null;
    groups = [...headGroups, ...Array(missing).fill("0"), ...tailGroups];
  }
  if (groups.length !== 8 || groups.some((g) => !/^[0-9a-f]{1,4}$/i.test(g))) return null;
  const numbers = groups.map((g) => parseInt(g, 16));
  // IPv4-mapped (::ffff:a.b.c.d): the IPv4 address is the network
  if (numbers.slice(0, 5).every((n) => n === 0) && numbers[5] === 0xffff) {
    return `v4:${numbers[6] >> 8}.${numbers[6] & 255}.${numbers[7] >> 8}.${numbers[7] & 255}`;
  }
  return `v6:${numbers.slice(0, 4).map((n) => n.toString(16)).join(":")}::/64`;
}

/** The network a client address belongs to: `v4:<address>`, `v6:<prefix>::/64`, or `unknown`. */
export function networkOf(ip: string | null | undefined): string {
  if (!ip) return "unknown";
  const text = ip.trim().replace(/^\[|\]$/g, "").replace(/%.*$/, "");
  const v4 = ipv4(text);
  if (v4) return `v4:${v4}`;
  return ipv6Prefix(text) ?? "unknown";
}

export function utcDay(now: number): string {
  return new Date(now * 1000).toISOString().slice(0, 10);
}

/** The stored key of a network on a day: 16 bytes of HMAC-SHA-256 under the current meter key. */
export async function networkKey(keyring: Keyring, network: string, day: string): Promise<string> {
  const key = keyring.keys.get(keyring.currentId);
  if (!key) throw new Error("meter keyring has no current key");
  const mac = await crypto.subtle.sign(
    "HMAC",
    key,
    new TextEncoder().encode(`codepages/network/v1|${day}|${network}`),
  );
  return b64urlEncode(new Uint8Array(mac, 0, 16));
}

export interface NetworkView {
  allowed: boolean;
  /** fresh guest views given to this network today, after this request */
  views: number;
}

export class NetworkAllowance {
  constructor(private readonly db: Database) {}

  async view(key: string, day: string, allowance: number): Promise<NetworkView> {
    const rows = await this.db.rows(
      "SELECT allowed, views FROM codepages_guest_network_view($1, $2::date, $3, $4)",
      [key, day, Math.max(0, Math.floor(allowance)), this.db.budgetMs],
    );
    const row = rows[0];
    if (!row || typeof row.allowed !== "boolean") throw new StoreUnavailableError("unexpected answer");
    return { allowed: row.allowed, views: Number(row.views) };
  }
}
