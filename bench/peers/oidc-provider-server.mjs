// node-oidc-provider bench server (from shared/peers/oidc-provider-server.mjs),
// loopback only. run.sh copies it beside the scratch node_modules and runs it
// pinned to one core. Dev interactions (login accepts any name and password),
// generated keys, one confidential RP with code + PKCE.
// env: PORT, ALG=ES256|RS256|EdDSA (ID token), FORMAT=opaque|jwt, STORE_SIZE
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';
import MemoryAdapter from 'oidc-provider/lib/adapters/memory_adapter.js';
import LRU from 'oidc-provider/lib/helpers/lru.js';

const PORT = Number(process.env.PORT || 18102);
const ALG = process.env.ALG || 'ES256';
const FORMAT = process.env.FORMAT || 'opaque';
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
const ed = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' });
const keys = { ES256: [ec, rsa, ed], RS256: [rsa, ec, ed], EdDSA: [ed, rsa, ec] }[ALG];

// The stock in-memory adapter, but over a larger LRU: the default one keeps
// only ~1000 entries, so codes collected ahead of the token-exchange phase
// would be evicted before they are exchanged.
const store = new LRU({ maxSize: Number(process.env.STORE_SIZE || 200000) });

const provider = new Provider(`http://127.0.0.1:${PORT}`, {
  adapter: (model) => new MemoryAdapter(model, store, 0),
  clients: [
    { client_id: 'bench', client_secret: 'bench-secret-0123456789', grant_types: ['client_credentials'],
      redirect_uris: [], response_types: [], token_endpoint_auth_method: 'client_secret_basic' },
    { client_id: 'rp', client_secret: 'rp-secret-0123456789', grant_types: ['authorization_code'],
      redirect_uris: ['http://127.0.0.1:9999/cb'], response_types: ['code'],
      id_token_signed_response_alg: ALG },
  ],
  jwks: { keys },
  cookies: { keys: ['bench-cookie-key-1'] },
  features: {
    clientCredentials: { enabled: true },
    devInteractions: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => (FORMAT === 'jwt' ? 'urn:bench:api' : undefined),
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({ scope: 'api', audience: 'urn:bench:api', accessTokenFormat: 'jwt', jwt: { sign: { alg: ALG } } }),
    },
  },
  findAccount: async (ctx, id) => ({ accountId: id, claims: async () => ({ sub: id, name: 'Bench User' }) }),
});
provider.listen(PORT, '127.0.0.1', () => console.log(`oidc-provider listening on 127.0.0.1:${PORT} alg=${ALG} format=${FORMAT} pid=${process.pid}`));
