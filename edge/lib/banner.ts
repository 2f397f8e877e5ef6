/** The meter banner's sentence. */
import type { GateSettings } from "./settings.ts";

function views(n: number, word = "view"): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

export function bannerText(settings: GateSettings, allowed: boolean, remaining: number): string {
  if (allowed) return `You have ${views(remaining, "code page view")} remaining.`;
  return `0 code page views remaining. Guest accounts are limited to ${
    views(settings.guestViews, "page view")
  }. ` +
    `Register free account to get ${settings.freeAccountExtraViews} more ${
      settings.freeAccountExtraViews === 1 ? "view" : "views"
    }.`;
}
