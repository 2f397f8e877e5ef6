/**
 * The meter banner: what happened to this visitor on this page, in one short paragraph, with
 * the links that help (register, log in, upgrade, continue). HTML built from escaped parts;
 * page.ts puts it into the page's banner slot (role="status").
 *
 * No banner at all where nothing on the page is metered (a page without protected sections),
 * and none for subscribers (nothing is counted for them).
 */
import { escapeHtml } from "./html.ts";
import type { GateSettings } from "./settings.ts";

function views(n: number, word = "code page view"): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

function link(href: string, text: string, className = ""): string {
  return `<a${className ? ` class="${className}"` : ""} href="${escapeHtml(href)}">${escapeHtml(text)}</a>`;
}

function paragraph(...parts: string[]): string {
  return `<p>${parts.filter((p) => p !== "").join(" ")}</p>`;
}

function authLink(route: "login" | "register", pagePath: string, text: string): string {
  return link(`/auth/${route}?return_to=${encodeURIComponent(pagePath)}`, text);
}

/** "Register free account to get 5 more views." with the link. */
function registerSentence(settings: GateSettings, pagePath: string): string {
  const more = settings.freeAccountExtraViews;
  return `${authLink("register", pagePath, "Register free account")} to get ${more} more ${
    more === 1 ? "view" : "views"
  }.`;
}

function logInSentence(pagePath: string): string {
  return `Already registered? ${authLink("login", pagePath, "Log in")}.`;
}

export type GuestOutcome =
  | "unlocked"
  | "reopened"
  | "exhausted"
  | "network-exhausted"
  | "unavailable"
  | "not-opened"
  | "framed";

/** The banner of a guest (no account) on a code page with protected sections. */
export function guestBanner(
  outcome: GuestOutcome,
  settings: GateSettings,
  pagePath: string,
  remaining: number,
): string {
  const left = `${views(remaining)} remaining.`;
  switch (outcome) {
    case "unlocked":
      return paragraph(
        settings.guestViews === 1
          ? "This is your free code page view."
          : `This page used one of your ${views(settings.guestViews, "free code page view")}.`,
        left,
        registerSentence(settings, pagePath),
      );
    case "reopened":
      return paragraph(
        "You unlocked this code page earlier, so reading it again is free.",
        left,
        registerSentence(settings, pagePath),
      );
    case "exhausted":
      return paragraph(
        `0 code page views remaining. Guest accounts are limited to ${
          views(settings.guestViews, "page view")
        }.`,
        registerSentence(settings, pagePath),
        logInSentence(pagePath),
      );
    case "network-exhausted":
      return paragraph(
        "0 code page views remaining. The free guest views of your network are used up for today.",
        registerSentence(settings, pagePath),
        logInSentence(pagePath),
      );
    case "unavailable":
      return UNAVAILABLE;
    case "not-opened":
      return paragraph(
        "The protected sections of this page cannot be opened right now; no view was used.",
        "Please try again in a few minutes.",
      );
    case "framed":
      return paragraph(
        "This code page is shown inside another page, so its protected sections stay locked.",
        `<a href="${escapeHtml(pagePath)}" target="_top">Open it on its own</a>.`,
      );
  }
}

export type AccountOutcome =
  | "unlocked"
  | "reopened"
  | "exhausted"
  | "continue"
  | "unavailable"
  | "not-opened";

/** The banner of a free account on a code page with protected sections. */
export function accountBanner(
  outcome: AccountOutcome,
  quota: number,
  used: number,
  periodDays: number,
  pagePath: string,
  unconfirmedSubscriber = false,
): string {
  const remaining = Math.max(0, quota - used);
  const left = `${views(remaining)} remaining.`;
  const unconfirmed = unconfirmedSubscriber
    ? `Your subscription could not be confirmed just now, so views are counted. ${
      link(`/auth/refresh?return_to=${encodeURIComponent(pagePath)}`, "Check again")
    }.`
    : "";
  switch (outcome) {
    case "unlocked":
      return paragraph(unconfirmed, "This code page used one of your free account's views.", left);
    case "reopened":
      return paragraph(
        unconfirmed,
        "You unlocked this code page earlier, so reading it again is free.",
        left,
      );
    case "exhausted":
      return paragraph(
        unconfirmed,
        `0 code page views remaining. Free accounts are limited to ${views(quota)} every ${periodDays} days.`,
        `${link("/auth/upgrade", "Upgrade to a subscription")} to unlock every code page.`,
      );
    case "continue":
      return paragraph(
        unconfirmed,
        `You came here from another site. Reading this page's protected sections uses one of your ${
          views(remaining)
        } left.`,
        link(pagePath, "Continue reading", "button"),
      );
    case "unavailable":
      return UNAVAILABLE;
    case "not-opened":
      return paragraph(
        "The protected sections of this page cannot be opened right now; no view was used.",
        "Please try again in a few minutes.",
      );
  }
}

export const UNAVAILABLE = paragraph(
  "Your code page views cannot be checked right now, so protected sections stay locked.",
  "Please try again in a few minutes.",
);
