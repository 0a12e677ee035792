// openid-client (panva's certified relying-party library) against an oidc-forge issuer.
//
//   node conformance/interop/openid-client.mjs http://127.0.0.1:PORT
//
// The issuer must run the embedded default configuration (mock-issuer/src/default_config.toml):
// the confidential client `forge-web` and auto-login of alice. Each step prints one line; any
// failure, or any value that differs from what the specs and that configuration promise, ends the
// run with exit code 1. Every check below is openid-client's own (discovery, RFC 9207 `iss`,
// state, PKCE, ID-token signature and claims) plus the explicit comparisons this script makes.

import * as oidc from 'openid-client';

// From mock-issuer/src/default_config.toml.
const CLIENT_ID = 'forge-web';
const CLIENT_SECRET = 'forge-web-secret';
const REDIRECT_URI = 'http://127.0.0.1:8000/auth-callback';
const SPA_CLIENT_ID = 'forge-spa';
const SPA_REDIRECT_URI = 'http://localhost:3000/callback';
const ALICE = { sub: '4b3c7a4e-6f1e-4f8a-9d2b-1c0e5a7f3b21', email: 'alice@example.com' };
const SCOPE = 'openid profile email offline_access read';
// Redirects the authorize request may take before it reaches the client (login pages, consent).
const MAX_HOPS = 5;

class StepFailure extends Error {}

function expect(condition, message) {
  if (!condition) throw new StepFailure(message);
}

function expectEqual(actual, expected, what) {
  expect(
    actual === expected,
    `${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`,
  );
}

let stepNumber = 0;
async function step(name, body) {
  stepNumber += 1;
  try {
    const detail = await body();
    console.log(`ok ${stepNumber} - ${name}${detail ? `: ${detail}` : ''}`);
  } catch (err) {
    console.log(`not ok ${stepNumber} - ${name}: ${describe(err)}`);
    process.exit(1);
  }
}

function describe(err) {
  const parts = [err?.name ?? 'Error', err?.message ?? String(err)];
  if (err?.code) parts.push(`code=${err.code}`);
  if (err?.error) parts.push(`error=${err.error}`);
  if (err?.error_description) parts.push(`error_description=${err.error_description}`);
  if (err?.status) parts.push(`status=${err.status}`);
  if (err?.cause && !(err.cause instanceof Response)) {
    parts.push(`cause=${err.cause?.message ?? JSON.stringify(err.cause)}`);
  }
  return parts.join(' ');
}

function loopbackIssuer(raw) {
  let url;
  try {
    url = new URL(raw);
  } catch {
    throw new StepFailure(`not a URL: ${JSON.stringify(raw)}`);
  }
  // allowInsecureRequests is for a local test issuer only: never turn TLS checks off elsewhere.
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  expect(loopback, `refusing a non-loopback issuer over plain HTTP: ${url.href}`);
  return url;
}

// Follows the authorize redirects by hand, keeping cookies, until one points at the redirect URI.
async function followToCallback(authorizationUrl, redirectUri = REDIRECT_URI) {
  const cookies = new Map();
  let next = authorizationUrl;
  for (let hop = 0; hop < MAX_HOPS; hop += 1) {
    const response = await fetch(next, {
      redirect: 'manual',
      headers: cookies.size
        ? { cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; ') }
        : {},
    });
    for (const setCookie of response.headers.getSetCookie()) {
      const [pair] = setCookie.split(';');
      const eq = pair.indexOf('=');
      if (eq > 0) cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
    const location = response.headers.get('location');
    expect(
      response.status >= 300 && response.status < 400 && location,
      `authorize hop ${hop + 1}: expected a redirect, got HTTP ${response.status}`,
    );
    const target = new URL(location, next);
    if (target.href.startsWith(`${redirectUri}?`)) return target;
    next = target;
  }
  throw new StepFailure(`no redirect to ${redirectUri} within ${MAX_HOPS} hops`);
}

const issuerArg = process.argv[2];
if (!issuerArg) {
  console.error('usage: node openid-client.mjs <issuer-url>');
  process.exit(2);
}

let issuer;
let config;
await step('issuer URL is loopback', () => {
  issuer = loopbackIssuer(issuerArg);
  return issuer.href;
});

await step('discovery (OIDC Discovery 1.0 section 4)', async () => {
  config = await oidc.discovery(issuer, CLIENT_ID, undefined, oidc.ClientSecretBasic(CLIENT_SECRET), {
    execute: [oidc.allowInsecureRequests],
  });
  // The ID token's JWS signature is checked against the issuer's JWKS (OIDC Core 3.1.3.7 item 6):
  // openid-client skips it by default for token-endpoint responses over TLS; we want it proven.
  oidc.enableNonRepudiationChecks(config);
  const metadata = config.serverMetadata();
  // Discovery 4.3: the document's `issuer` is exactly the issuer identifier asked for.
  expectEqual(metadata.issuer, issuerArg.replace(/\/$/, ''), 'discovery issuer');
  expect(metadata.supportsPKCE('S256'), 'metadata does not advertise PKCE S256');
  return `issuer ${metadata.issuer}`;
});

const codeVerifier = oidc.randomPKCECodeVerifier();
const state = oidc.randomState();
const nonce = oidc.randomNonce();
let callbackUrl;
await step('authorization request with PKCE S256, state and nonce; redirect followed by hand', async () => {
  const codeChallenge = await oidc.calculatePKCECodeChallenge(codeVerifier);
  const authorizationUrl = oidc.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI,
    scope: SCOPE,
    code_challenge: codeChallenge,
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  callbackUrl = await followToCallback(authorizationUrl);
  expect(callbackUrl.searchParams.get('code'), 'callback carries no code');
  return `callback with code, iss=${callbackUrl.searchParams.get('iss')}`;
});

let tokens;
let idClaims;
await step('code exchange; ID token validated by openid-client (signature, iss, aud, nonce, exp)', async () => {
  // Checks RFC 9207 `iss` and `state` on the callback, then the token response and ID token.
  tokens = await oidc.authorizationCodeGrant(config, callbackUrl, {
    pkceCodeVerifier: codeVerifier,
    expectedState: state,
    expectedNonce: nonce,
    idTokenExpected: true,
  });
  idClaims = tokens.claims();
  expect(idClaims, 'no ID token claims');
  expectEqual(idClaims.iss, config.serverMetadata().issuer, 'ID token iss');
  expectEqual(idClaims.nonce, nonce, 'ID token nonce');
  expectEqual(idClaims.sub, ALICE.sub, 'ID token sub (the auto-login user)');
  expect(
    idClaims.aud === CLIENT_ID || (Array.isArray(idClaims.aud) && idClaims.aud.includes(CLIENT_ID)),
    `ID token aud does not name ${CLIENT_ID}: ${JSON.stringify(idClaims.aud)}`,
  );
  expectEqual(tokens.token_type?.toLowerCase(), 'bearer', 'token_type');
  expect(tokens.access_token, 'no access token');
  expect(tokens.refresh_token, 'no refresh token despite offline_access');
  return `sub ${idClaims.sub}, scope "${tokens.scope}"`;
});

await step('an ID token whose signature was altered in transit is rejected (OIDC Core 3.1.3.7 item 6)', async () => {
  // Proves the signature check above is real: the same flow with one signature byte changed
  // must fail inside openid-client, before any claim is trusted.
  const untouched = config[oidc.customFetch];
  config[oidc.customFetch] = async (url, options) => {
    const response = await fetch(url, options);
    if (url !== config.serverMetadata().token_endpoint) return response;
    const body = await response.json();
    const [header, payload, signature] = body.id_token.split('.');
    const flipped = signature[0] === 'A' ? 'B' : 'A';
    body.id_token = [header, payload, flipped + signature.slice(1)].join('.');
    return new Response(JSON.stringify(body), { status: response.status, headers: response.headers });
  };
  try {
    await freshTokens();
  } catch (err) {
    expectEqual(err?.code, 'OAUTH_INVALID_RESPONSE', `error kind (${describe(err)})`);
    expect(/signature/i.test(err?.cause?.message ?? ''), `not a signature failure: ${describe(err)}`);
    return describe(err);
  } finally {
    // A setter, not a plain property: put the previous fetch back rather than delete it.
    config[oidc.customFetch] = untouched;
  }
  throw new StepFailure('openid-client accepted an ID token with an altered signature');
});

await step('userinfo (OIDC Core 5.3); sub equals the ID token sub', async () => {
  const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, idClaims.sub);
  expectEqual(userinfo.sub, idClaims.sub, 'userinfo sub');
  expectEqual(userinfo.email, ALICE.email, 'userinfo email');
  return `email ${userinfo.email}`;
});

await step('introspection of the access token (RFC 7662 2.2) is active', async () => {
  const answer = await oidc.tokenIntrospection(config, tokens.access_token);
  expectEqual(answer.active, true, 'introspection active');
  expectEqual(answer.sub, idClaims.sub, 'introspection sub');
  expectEqual(answer.client_id, CLIENT_ID, 'introspection client_id');
  return `scope "${answer.scope}"`;
});

let refreshed;
await step('refresh (RFC 6749 6); the refresh token rotates and the new ID token keeps sub', async () => {
  refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token);
  expect(refreshed.access_token, 'no access token after refresh');
  expect(refreshed.access_token !== tokens.access_token, 'refresh returned the same access token');
  expect(refreshed.refresh_token, 'no refresh token after refresh');
  expect(refreshed.refresh_token !== tokens.refresh_token, 'refresh token did not rotate');
  const claims = refreshed.claims();
  if (claims) expectEqual(claims.sub, idClaims.sub, 'refreshed ID token sub (OIDC Core 12.2)');
  return claims ? 'new ID token validated' : 'no ID token in the refresh response';
});

await step('userinfo with the refreshed access token', async () => {
  const userinfo = await oidc.fetchUserInfo(config, refreshed.access_token, idClaims.sub);
  expectEqual(userinfo.sub, idClaims.sub, 'userinfo sub');
});

await step('the rotated-out refresh token is rejected with invalid_grant (RFC 9700 4.14.2)', async () => {
  try {
    await oidc.refreshTokenGrant(config, tokens.refresh_token);
  } catch (err) {
    expectEqual(err?.error, 'invalid_grant', 'error code');
    return `${err.error}`;
  }
  throw new StepFailure('the old refresh token was accepted again');
});

let revokedAccessToken;
await step('revocation (RFC 7009 2.1), then introspection says active: false', async () => {
  // The replay above may already have revoked the family (RFC 9700 4.14.2); revoke a fresh pair.
  const fresh = await freshTokens();
  const before = await oidc.tokenIntrospection(config, fresh.access_token);
  expectEqual(before.active, true, 'introspection before revocation');
  await oidc.tokenRevocation(config, fresh.access_token);
  revokedAccessToken = fresh.access_token;
  const after = await oidc.tokenIntrospection(config, fresh.access_token);
  expectEqual(after.active, false, 'introspection after revocation');
  expectEqual(Object.keys(after).join(','), 'active', 'inactive answer members (RFC 7662 2.2)');
  await oidc.tokenRevocation(config, fresh.refresh_token, { token_type_hint: 'refresh_token' });
  const refreshAfter = await oidc.tokenIntrospection(config, fresh.refresh_token, {
    token_type_hint: 'refresh_token',
  });
  expectEqual(refreshAfter.active, false, 'refresh token introspection after revocation');
});

await step('userinfo with a revoked access token: RFC 6750 3.1 invalid_token challenge', async () => {
  try {
    await oidc.fetchUserInfo(config, revokedAccessToken, idClaims.sub);
  } catch (err) {
    // oauth4webapi parses the WWW-Authenticate challenge (RFC 6750 3) into err.cause.
    const challenges = err?.cause;
    expect(Array.isArray(challenges), `no parsed WWW-Authenticate challenge: ${describe(err)}`);
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    expect(bearer, `no Bearer challenge: ${JSON.stringify(challenges)}`);
    expectEqual(bearer.parameters.error, 'invalid_token', 'challenge error');
    return `status ${err.status}, error ${bearer.parameters.error}`;
  }
  throw new StepFailure('userinfo answered a revoked access token');
});

await step('a wrong client secret gets invalid_client (RFC 6749 5.2)', async () => {
  const wrong = new oidc.Configuration(config.serverMetadata(), CLIENT_ID, undefined, oidc.ClientSecretBasic('not-the-secret'));
  oidc.allowInsecureRequests(wrong);
  try {
    await oidc.clientCredentialsGrant(wrong, { scope: 'read' });
  } catch (err) {
    // RFC 6749 5.2: a client that authenticated with the Authorization header gets a 401 with a
    // WWW-Authenticate challenge for its scheme; openid-client reports the challenge and leaves
    // the RFC 6749 5.2 JSON body unread on err.response.
    expectEqual(err?.status, 401, 'status');
    const challenges = Array.isArray(err?.cause) ? err.cause : [];
    expect(
      challenges.some((c) => c.scheme === 'basic'),
      `no Basic challenge: ${describe(err)}`,
    );
    const body = err.response instanceof Response ? await err.response.json() : {};
    const code = body.error;
    expectEqual(code, 'invalid_client', 'error code');
    return `status ${err.status}, ${code}`;
  }
  throw new StepFailure('a wrong client secret was accepted');
});

await step('an authorization error comes back with state and iss (RFC 6749 4.1.2.1, RFC 9207 2)', async () => {
  const errorState = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI,
    scope: 'openid no-such-scope',
    code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
    code_challenge_method: 'S256',
    state: errorState,
  });
  const callback = await followToCallback(url);
  try {
    // openid-client checks iss and state before it reads the error.
    await oidc.authorizationCodeGrant(config, callback, { expectedState: errorState });
  } catch (err) {
    expectEqual(err?.code, 'OAUTH_AUTHORIZATION_RESPONSE_ERROR', `error kind (${describe(err)})`);
    expectEqual(err?.error, 'invalid_scope', 'error code');
    return `${err.error}: ${err.error_description}`;
  }
  throw new StepFailure('an unknown scope was granted');
});

await step('client_secret_post authentication (RFC 6749 2.3.1)', async () => {
  const post = new oidc.Configuration(
    config.serverMetadata(),
    CLIENT_ID,
    undefined,
    oidc.ClientSecretPost(CLIENT_SECRET),
  );
  oidc.allowInsecureRequests(post);
  const m2m = await oidc.clientCredentialsGrant(post, { scope: 'read' });
  expect(m2m.access_token, 'no access token');
  const answer = await oidc.tokenIntrospection(post, m2m.access_token);
  expectEqual(answer.active, true, 'introspection active');
});

await step('public client forge-spa: code flow with PKCE and no secret (RFC 6749 2.1, RFC 7636)', async () => {
  const spa = new oidc.Configuration(config.serverMetadata(), SPA_CLIENT_ID, undefined, oidc.None());
  oidc.allowInsecureRequests(spa);
  oidc.enableNonRepudiationChecks(spa);
  const verifier = oidc.randomPKCECodeVerifier();
  const spaState = oidc.randomState();
  const spaNonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(spa, {
    redirect_uri: SPA_REDIRECT_URI,
    scope: 'openid email',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state: spaState,
    nonce: spaNonce,
  });
  const callback = await followToCallback(url, SPA_REDIRECT_URI);
  const spaTokens = await oidc.authorizationCodeGrant(spa, callback, {
    pkceCodeVerifier: verifier,
    expectedState: spaState,
    expectedNonce: spaNonce,
  });
  const claims = spaTokens.claims();
  expectEqual(claims?.sub, ALICE.sub, 'ID token sub');
  const aud = [claims?.aud].flat();
  expect(aud.includes(SPA_CLIENT_ID), `ID token aud does not name ${SPA_CLIENT_ID}: ${JSON.stringify(aud)}`);
  return `sub ${claims.sub}`;
});

await step('client_credentials grant (RFC 6749 4.4)', async () => {
  const m2m = await oidc.clientCredentialsGrant(config, { scope: 'read' });
  expect(m2m.access_token, 'no access token');
  expect(!m2m.id_token, 'client_credentials must not return an ID token');
  expect(!m2m.refresh_token, 'client_credentials should not return a refresh token (RFC 6749 4.4.3)');
  const answer = await oidc.tokenIntrospection(config, m2m.access_token);
  expectEqual(answer.active, true, 'introspection active');
  expectEqual(answer.client_id, CLIENT_ID, 'introspection client_id');
  expectEqual(answer.scope, 'read', 'introspection scope');
  return `scope "${m2m.scope}"`;
});

console.log(`openid-client ${stepNumber} steps passed against ${issuer.href}`);

// Another full code flow, for the steps that must not spend the main flow's tokens.
async function freshTokens() {
  const verifier = oidc.randomPKCECodeVerifier();
  const freshState = oidc.randomState();
  const freshNonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI,
    scope: SCOPE,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state: freshState,
    nonce: freshNonce,
  });
  const callback = await followToCallback(url);
  return oidc.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: verifier,
    expectedState: freshState,
    expectedNonce: freshNonce,
  });
}
