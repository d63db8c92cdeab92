// A real OpenID provider for Cascade's single sign-on tests: the certified npm package
// `oidc-provider`, started by tests/identity/oidc.py (`oidc_provider` fixture).
//
//   PORT=<port> JWKS_FILE=<private JWK set> node provider.js
//
// One confidential client, "cascade", whose redirect URIs are any Cascade callback on a
// loopback address (`http://127.0.0.1:<port>/sso/<slug>/oidc/callback/`: the test
// server's port changes each run); PKCE (S256) required. Its people sign in on the
// provider's own login form (dev interactions: any password), then consent.
// The signing keys come from JWKS_FILE, so the tests hold the provider's real private
// key and can sign tampered ID tokens with it.
import { readFileSync } from 'node:fs';

import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;
const jwks = JSON.parse(readFileSync(process.env.JWKS_FILE, 'utf8'));

// login → claims. acme.example is the test organization's domain, globex.example
// another organization's.
const accounts = {
  alice: { email: 'alice@acme.example', email_verified: true, given_name: 'Alice', family_name: 'Martin' },
  bruno: { email: 'bruno@acme.example', email_verified: true, given_name: 'Bruno', family_name: 'Diaz' },
  ursula: { email: 'ursula@acme.example', email_verified: false, given_name: 'Ursula', family_name: 'Unverified' },
  gina: { email: 'gina@globex.example', email_verified: true, given_name: 'Gina', family_name: 'Globex' },
};

const CALLBACK = /^http:\/\/(127\.0\.0\.1|localhost):[0-9]{1,5}\/sso\/[a-z0-9-]+\/oidc\/callback\/$/;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'cascade',
      client_secret: 'cascade-test-secret',
      redirect_uris: ['http://127.0.0.1:8000/sso/acme/oidc/callback/'],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  pkce: { required: () => true },
  jwks,
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['given_name', 'family_name', 'name'],
  },
  // The scopes' claims in the ID token itself, as Okta, Entra ID, Google and Keycloak send.
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: true } },
  async findAccount(ctx, id) {
    const person = accounts[id];
    if (!person) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, name: `${person.given_name} ${person.family_name}`, ...person };
      },
    };
  },
});

// The test server's port differs each run: any loopback Cascade callback is this client's.
provider.Client.prototype.redirectUriAllowed = function redirectUriAllowed(value) {
  return CALLBACK.test(value);
};

provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${issuer}`);
});
