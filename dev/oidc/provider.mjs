// A real OpenID Connect provider on loopback for the local preview and the tests:
// the certified `oidc-provider` package, with a tiny interaction UI where a person registers
// or signs in with an email address and picks a plan (free or subscriber). Accounts live in
// memory (or in --accounts FILE, kept across restarts). Never for production.
//
//   LOCAL_OIDC_CLIENT_SECRET=S node dev/oidc/provider.mjs --port 0 --client-id codepages-local \
//     --redirect-uri http://127.0.0.1:8888/auth/callback --post-logout-uri http://127.0.0.1:8888/
//
// (--client-secret S works too, but shows the secret in the process list.)
//
// Prints one line `OIDC provider ready at <issuer>` when listening.
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { readFileSync, writeFileSync, renameSync } from "node:fs";
import http from "node:http";
import { parseArgs } from "node:util";
import Provider from "oidc-provider";

const { values: args } = parseArgs({
  options: {
    host: { type: "string", default: "127.0.0.1" },
    // the host name in the issuer URL: the preview uses "localhost" (listening on 127.0.0.1), so
    // the provider's cookies and the site's (on 127.0.0.1) are never shared
    "public-host": { type: "string" },
    port: { type: "string", default: "0" },
    "client-id": { type: "string", default: "codepages-local" },
    "client-secret": { type: "string" },
    "redirect-uri": { type: "string", multiple: true, default: [] },
    "post-logout-uri": { type: "string", multiple: true, default: [] },
    "role-claim": { type: "string", default: "https://codepages.example/roles" },
    "subscriber-role": { type: "string", default: "subscriber" },
    "id-token-alg": { type: "string", default: "RS256" },
    accounts: { type: "string" },
    // for a parent process that holds our stdin (the preview): when it ends, even killed, so do we
    "exit-with-stdin": { type: "boolean", default: false },
  },
});
args["client-secret"] ??= process.env.LOCAL_OIDC_CLIENT_SECRET;
if (!args["client-secret"] || args["redirect-uri"].length === 0) {
  console.error("usage: provider.mjs --client-secret S --redirect-uri URI [--post-logout-uri URI] [--port N]");
  process.exit(2);
}
const ROLE_CLAIM = args["role-claim"];
const SUBSCRIBER = args["subscriber-role"];

// ---- accounts ---------------------------------------------------------------------------------
/** email → { sub, email, plan: "free" | "subscriber" } */
const accounts = new Map();
function loadAccounts() {
  if (!args.accounts) return;
  try {
    for (const account of JSON.parse(readFileSync(args.accounts, "utf8"))) accounts.set(account.email, account);
  } catch { /* first start */ }
}
function saveAccounts() {
  if (!args.accounts) return;
  writeFileSync(`${args.accounts}.tmp`, JSON.stringify([...accounts.values()], null, 1));
  renameSync(`${args.accounts}.tmp`, args.accounts);
}
const bySubject = (sub) => [...accounts.values()].find((a) => a.sub === sub);
loadAccounts();

// ---- keys -------------------------------------------------------------------------------------
function signingKey(type, options, alg) {
  const jwk = generateKeyPairSync(type, options).privateKey.export({ format: "jwk" });
  return { ...jwk, alg, use: "sig", kid: `${alg.toLowerCase()}-${randomBytes(6).toString("hex")}` };
}
const jwks = {
  keys: [
    signingKey("rsa", { modulusLength: 2048 }, "RS256"),
    signingKey("ec", { namedCurve: "P-256" }, "ES256"),
  ],
};

// ---- pages ------------------------------------------------------------------------------------
const escape = (text) =>
  String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
const STYLE = `body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;line-height:1.5}
label{display:block;margin:.8rem 0 .2rem}input[type=email]{width:100%;padding:.4rem;font-size:1rem}
fieldset{margin:1rem 0}button{font-size:1rem;padding:.5rem 1rem;margin-top:1rem}.error{color:#a00}.note{color:#555;font-size:.9rem}`;
function page(title, body) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escape(title)} · Codepages local identity provider</title><style>${STYLE}</style></head>
<body><p class="note">Codepages local identity provider (development only)</p><h1>${escape(title)}</h1>${body}</body></html>`;
}

function planFieldset(current) {
  const option = (value, label) =>
    `<label><input type="radio" name="plan" value="${value}"${current === value ? " checked" : ""}> ${label}</label>`;
  return `<fieldset><legend>Plan (for testing)</legend>
${current === "" ? option("", "Keep my current plan") : ""}
${option("free", "Free account: 5 more code page views")}
${option("subscriber", "Subscriber: every code page")}
</fieldset>`;
}

function interactionForm(uid, mode, error = "", email = "") {
  const signup = mode === "signup";
  return page(signup ? "Create your free account" : "Sign in", `
${error ? `<p class="error" role="alert">${escape(error)}</p>` : ""}
<form method="post" action="/interaction/${escape(uid)}/login" autocomplete="off">
  <input type="hidden" name="mode" value="${signup ? "signup" : "login"}">
  <label for="email">Email address</label>
  <input id="email" type="email" name="email" required value="${escape(email)}" autofocus>
  ${planFieldset(signup ? "free" : "")}
  <button type="submit">${signup ? "Register" : "Sign in"}</button>
</form>
<p>${signup
    ? `Already registered? <a href="/interaction/${escape(uid)}?mode=login">Sign in</a>`
    : `New here? <a href="/interaction/${escape(uid)}?mode=signup">Register a free account</a>`}</p>
<form method="post" action="/interaction/${escape(uid)}/abort"><button type="submit">Cancel</button></form>`);
}

// ---- the provider -----------------------------------------------------------------------------
const server = http.createServer();
await new Promise((resolve) => server.listen(Number(args.port), args.host, resolve));
const issuer = `http://${args["public-host"] ?? args.host}:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: args["client-id"],
    client_secret: args["client-secret"],
    redirect_uris: args["redirect-uri"],
    post_logout_redirect_uris: args["post-logout-uri"],
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
    token_endpoint_auth_method: "client_secret_basic",
    id_token_signed_response_alg: args["id-token-alg"],
  }],
  jwks,
  cookies: { keys: [randomBytes(32).toString("hex")] },
  claims: { openid: ["sub", ROLE_CLAIM], email: ["email", "email_verified"], profile: ["name"] },
  conformIdTokenClaims: false, // the claims of the requested scopes go into the ID token
  extraParams: ["screen_hint"], // Auth0's sign-up hint, used by /auth/register
  pkce: { required: () => true },
  // a refresh token with every code: the site re-reads the plan (subscriber or not) with it
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed("refresh_token"),
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: {
      enabled: true,
      // sign out at once (the confirmation form submits itself)
      logoutSource: async (ctx, form) => {
        ctx.body = page("Signing out", `${form}
<button type="submit" form="op.logoutForm" name="logout" value="yes">Sign out</button>
<script>const f=document.getElementById("op.logoutForm");const i=document.createElement("input");
i.type="hidden";i.name="logout";i.value="yes";f.appendChild(i);f.submit();</script>`);
      },
      postLogoutSuccessSource: async (ctx) => {
        ctx.body = page("Signed out", "<p>You are signed out.</p>");
      },
    },
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  findAccount: async (ctx, sub) => {
    const account = bySubject(sub);
    if (!account) return undefined;
    return {
      accountId: sub,
      claims: async () => ({
        sub,
        email: account.email,
        email_verified: true,
        name: account.email,
        [ROLE_CLAIM]: account.plan === "subscriber" ? [SUBSCRIBER] : [],
      }),
    };
  },
  // First-party client: no consent screen.
  loadExistingGrant: async (ctx) => {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) {
      const existing = await ctx.oidc.provider.Grant.find(grantId);
      if (existing) return existing;
    }
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope("openid email profile");
    grant.addOIDCClaims(["sub", "email", "email_verified", "name", ROLE_CLAIM]);
    await grant.save();
    return grant;
  },
  renderError: async (ctx, out) => {
    ctx.type = "html";
    ctx.body = page("Something went wrong", Object.entries(out)
      .map(([key, value]) => `<p><strong>${escape(key)}</strong>: ${escape(value)}</p>`).join(""));
  },
  ttl: {
    AccessToken: 600,
    AuthorizationCode: 60,
    IdToken: 600,
    Interaction: 1800,
    Session: 86400,
    Grant: 86400,
    RefreshToken: 86400,
  },
});

async function readForm(req) {
  let body = "";
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 10000) throw new Error("form too large");
  }
  return new URLSearchParams(body);
}

function send(res, status, html) {
  res.writeHead(status, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
  res.end(html);
}

async function interaction(req, res, url) {
  const match = /^\/interaction\/([A-Za-z0-9_-]+)(\/login|\/abort)?$/.exec(url.pathname);
  if (!match) return false;
  const [, uid, action] = match;
  let details;
  try {
    details = await provider.interactionDetails(req, res);
  } catch {
    send(res, 400, page("Sign-in expired", "<p>This sign-in has expired. Go back to the site and start again.</p>"));
    return true;
  }
  if (details.uid !== uid) {
    send(res, 400, page("Sign-in expired", "<p>Start again from the site.</p>"));
    return true;
  }
  if (req.method === "GET" && !action) {
    const mode = url.searchParams.get("mode") ?? (details.params.screen_hint === "signup" ? "signup" : "login");
    send(res, 200, interactionForm(uid, mode));
    return true;
  }
  if (req.method === "POST" && action === "/abort") {
    await provider.interactionFinished(req, res, {
      error: "access_denied",
      error_description: "The sign-in was cancelled",
    }, { mergeWithLastSubmission: false });
    return true;
  }
  if (req.method === "POST" && action === "/login") {
    const form = await readForm(req);
    const mode = form.get("mode") === "signup" ? "signup" : "login";
    const email = (form.get("email") ?? "").trim().toLowerCase();
    const plan = form.get("plan");
    if (!/^[^\s@]{1,64}@[^\s@]{1,190}$/.test(email)) {
      send(res, 400, interactionForm(uid, mode, "Enter an email address.", email));
      return true;
    }
    let account = accounts.get(email);
    if (mode === "signup") {
      if (account) {
        send(res, 400, interactionForm(uid, "login", "That email is already registered: sign in.", email));
        return true;
      }
      account = { sub: `acct_${randomBytes(12).toString("base64url")}`, email, plan: plan === "subscriber" ? "subscriber" : "free" };
      accounts.set(email, account);
    } else {
      if (!account) {
        send(res, 400, interactionForm(uid, "signup", "No account with that email: register first.", email));
        return true;
      }
      if (plan === "free" || plan === "subscriber") account.plan = plan;
    }
    saveAccounts();
    await provider.interactionFinished(req, res, { login: { accountId: account.sub } }, { mergeWithLastSubmission: false });
    return true;
  }
  send(res, 405, page("Not allowed", ""));
  return true;
}

const callback = provider.callback();
server.on("request", async (req, res) => {
  const url = new URL(req.url, issuer);
  try {
    if (url.pathname.startsWith("/interaction/") && (await interaction(req, res, url))) return;
  } catch (error) {
    console.error(`interaction failed: ${error}`);
    if (!res.headersSent) send(res, 500, page("Something went wrong", ""));
    return;
  }
  callback(req, res);
});

const stop = () => server.close(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
if (args["exit-with-stdin"]) process.stdin.on("end", stop).on("error", stop).resume();
console.log(`OIDC provider ready at ${issuer}`);
