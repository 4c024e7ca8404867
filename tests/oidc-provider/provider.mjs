#!/usr/bin/env node
// A real OpenID Provider (panva/oidc-provider, OpenID Certified) for tests of `gpu-dev login`'s device authorization
// grant (RFC 8628). Tests drive it only over HTTP, as a CLI and a browser would: see README.md for the options.
// Prints `READY {"issuer":...}` on stdout once it listens; everything else goes to stderr.
import { createServer } from 'node:http';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import Provider from 'oidc-provider';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: process.env.OIDC_PORT ?? '0' },
    accounts: { type: 'string', default: process.env.OIDC_ACCOUNTS },
    clients: { type: 'string', default: process.env.OIDC_CLIENTS },
    'device-code-ttl': { type: 'string', default: process.env.OIDC_DEVICE_CODE_TTL ?? '600' },
    'id-token-ttl': { type: 'string', default: process.env.OIDC_ID_TOKEN_TTL ?? '3600' },
    // For a parent process (the test fixture): exit when it closes our stdin, so a crashed test run leaves no provider.
    'exit-with-stdin': { type: 'boolean', default: false },
  },
});

const log = (...parts) => console.error('[oidc]', ...parts);

const accounts = new Map((args.accounts ? JSON.parse(args.accounts) : [
  { sub: 'u-alice', email: 'alice@example.com', name: 'Alice', preferred_username: 'alice', groups: ['gpu-users'] },
]).map((a) => [a.sub, { email_verified: true, groups: [], ...a }]));

const clients = args.clients ? JSON.parse(args.clients) : [{
  client_id: 'gpu-dev-cli',
  client_name: 'gpu-dev CLI',
  application_type: 'native',
  token_endpoint_auth_method: 'none',
  grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
  response_types: [],
  redirect_uris: [],
}];

// Newest first: oidc-provider signs with the first key that fits the algorithm, and publishes them all.
const signingKeys = [];
function addSigningKeys() {
  const stamp = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
  signingKeys.unshift({ ...rsa, kid: `rs-${stamp}`, alg: 'RS256', use: 'sig' }, { ...ec, kid: `es-${stamp}`, alg: 'ES256', use: 'sig' });
  return signingKeys.slice(0, 2).map((k) => k.kid);
}

// One store for every Provider instance this process builds (a key rotation builds a new one), so device codes,
// sessions and interactions in flight survive a rotation. Nothing is dropped by age: the provider checks each
// artifact's own expiry, so an expired device code still answers `expired_token` rather than `invalid_grant`.
const store = new Map();
class MapAdapter {
  constructor(model) { this.model = model; }

  key(id) { return `${this.model}:${id}`; }

  async upsert(id, payload) {
    store.set(this.key(id), payload);
    if (payload.userCode) store.set(`userCode:${payload.userCode}`, id);
    if (this.model === 'Session') store.set(`sessionUid:${payload.uid}`, id);
  }

  async find(id) { return store.get(this.key(id)); }

  async findByUserCode(userCode) { return this.find(store.get(`userCode:${userCode}`)); }

  async findByUid(uid) { return this.find(store.get(`sessionUid:${uid}`)); }

  async consume(id) { store.get(this.key(id)).consumed = Math.floor(Date.now() / 1000); }

  async destroy(id) { store.delete(this.key(id)); }

  async revokeByGrantId(grantId) {
    for (const [key, payload] of store) {
      if (payload?.grantId === grantId) store.delete(key);
    }
  }
}

const page = (title, body) => `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1>${body}</body></html>`;
const html = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const cookieKeys = [randomBytes(32).toString('base64url')];

function buildProvider(issuer) {
  const provider = new Provider(issuer, {
    adapter: MapAdapter,
    clients,
    jwks: { keys: signingKeys },
    cookies: { keys: cookieKeys },
    async findAccount(ctx, sub) {
      const account = accounts.get(sub);
      return account && { accountId: sub, claims: () => account };
    },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'preferred_username'],
      groups: ['groups'],
    },
    scopes: ['openid', 'offline_access', 'email', 'profile', 'groups'],
    // By default an ID token issued next to an access token carries only `sub` (the rest is for userinfo); the
    // server checks the ID token alone, so it must carry the granted scopes' claims.
    conformIdTokenClaims: false,
    ttl: {
      DeviceCode: Number(args['device-code-ttl']),
      IdToken: Number(args['id-token-ttl']),
      AccessToken: 600,
      Grant: 3600,
      Interaction: 600,
      Session: 3600,
      RefreshToken: 86400,
    },
    features: {
      devInteractions: { enabled: false },
      deviceFlow: {
        enabled: true,
        userCodeInputSource: (ctx, form, out, err) => {
          ctx.body = page('Sign-in', `${err ? `<p class="error">${html(err.name)}: ${html(err.message)}</p>` : ''}${form}<button type="submit" form="op.deviceInputForm">Continue</button>`);
        },
        userCodeConfirmSource: (ctx, form, client, deviceInfo, userCode) => {
          ctx.body = page('Confirm device', `<p>${html(client.clientId)} shows <code>${html(userCode)}</code></p>${form}`
            + '<button type="submit" form="op.deviceConfirmForm">Continue</button>'
            + '<button type="submit" form="op.deviceConfirmForm" name="abort" value="yes">Abort</button>');
        },
        successSource: (ctx) => { ctx.body = page('Sign-in success', '<p>You can close this page.</p>'); },
      },
      // Signing out at the provider (OpenID Connect RP-Initiated Logout), which the dashboard's sign-out can go on to.
      // Plain pages: the library's defaults load a web font, and tests run offline.
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: (ctx, form) => {
          ctx.body = page('Sign out', `${form}<button type="submit" form="op.logoutForm" name="logout" value="yes">Yes, sign me out</button>`
            + '<button type="submit" form="op.logoutForm">No, stay signed in</button>');
        },
        postLogoutSuccessSource: (ctx) => { ctx.body = page('Signed out', '<p>You are signed out.</p>'); },
      },
    },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    renderError: (ctx, out) => {
      ctx.type = 'html';
      ctx.body = page('Error', `<pre id="error">${html(JSON.stringify(out))}</pre>`);
    },
  });
  provider.on('server_error', (ctx, err) => log('server_error', err));
  provider.on('grant.error', (ctx, err) => log('grant.error', err.message));
  return provider;
}

async function readForm(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return new URLSearchParams(body);
}

// The login and consent pages (oidc-provider leaves these to the host; its devInteractions would also do but are a
// quick-start demo). Plain forms, finished through the provider's own interaction API as a real host does.
async function interaction(provider, req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error('interaction mismatch');
  if (req.method === 'GET' && !action) {
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.end(details.prompt.name === 'login'
      ? page('Log in', `<form method="post" action="/interaction/${uid}/login"><input type="text" name="login"><button type="submit">Log in</button></form>`)
      : page('Consent', `<p>Scopes: ${html(details.params.scope)}</p><form method="post" action="/interaction/${uid}/confirm">`
        + '<button type="submit" name="decision" value="approve">Allow</button><button type="submit" name="decision" value="deny">Deny</button></form>'));
    return;
  }
  if (req.method !== 'POST' || !action) {
    res.statusCode = 405;
    res.end();
    return;
  }
  const form = await readForm(req);
  if (action === 'login') {
    const accountId = form.get('login');
    if (!accounts.has(accountId)) {
      res.statusCode = 400;
      res.end(page('Log in', `<p class="error">unknown account ${html(accountId)}</p>`));
      return;
    }
    await provider.interactionFinished(req, res, { login: { accountId } }, { mergeWithLastSubmission: false });
    return;
  }
  if (form.get('decision') !== 'approve') {
    await provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'End-User denied the request' }, { mergeWithLastSubmission: false });
    return;
  }
  const { prompt: { details: missing }, params, session, grantId } = details;
  const grant = grantId ? await provider.Grant.find(grantId) : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  await provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true });
}

let provider;
let handler;
const server = createServer(async (req, res) => {
  const url = new URL(req.url, provider.issuer);
  res.on('finish', () => log(req.method, url.pathname, res.statusCode));
  try {
    // Test-only: there is no such endpoint on a real provider. It lets a test rotate the signing keys while the
    // server under test keeps running: the new key signs from now on, the old one stays published.
    if (req.method === 'POST' && url.pathname === '/test/rotate-keys') {
      const kids = addSigningKeys();
      provider = buildProvider(provider.issuer);
      handler = provider.callback();
      log('rotated signing keys, now first:', kids.join(', '));
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ kids }));
      return;
    }
    const match = /^\/interaction\/([^/]+)(?:\/(login|confirm))?$/.exec(url.pathname);
    if (match) {
      await interaction(provider, req, res, match[1], match[2]);
      return;
    }
    handler(req, res);
  } catch (err) {
    log('error', req.method, url.pathname, err);
    if (!res.headersSent) res.statusCode = 500;
    res.end(page('Error', `<pre id="error">${html(err.message)}</pre>`));
  }
});

addSigningKeys();
server.listen(Number(args.port), '127.0.0.1', () => {
  provider = buildProvider(`http://127.0.0.1:${server.address().port}`);
  handler = provider.callback();
  process.stdout.write(`READY ${JSON.stringify({ issuer: provider.issuer })}\n`);
});
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));
if (args['exit-with-stdin']) process.stdin.on('end', () => process.exit(0)).resume();
