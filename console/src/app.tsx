/** The console's shell: sign-in, navigation between views, the current view. */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { createApi } from './api.js';
import { useRoute } from './route.js';
import type { Session } from './session.js';
import { VIEWS } from './views/registry.js';

export function App({ session }: { session: Session }) {
  const [signedIn, setSignedIn] = useState<boolean | undefined>(undefined);
  const [expired, setExpired] = useState(false);
  const route = useRoute();
  useEffect(() => {
    void session.token().then((token) => setSignedIn(token !== undefined));
  }, [session]);
  const api = useMemo(() => createApi(session, () => setExpired(true)), [session]);
  const view = VIEWS.find((v) => v.id === route.view) ?? VIEWS[0]!;
  useEffect(() => {
    document.title = `${view.title} · fleetnet console`;
  }, [view]);
  if (signedIn === undefined) return <p class="muted">Loading…</p>;
  if (!signedIn || expired) return <SignIn session={session} expired={expired} onSignedIn={() => { setExpired(false); setSignedIn(true); }} />;
  const View = view.component;
  return (
    <>
      <a class="skip" href="#main">Skip to content</a>
      <header class="top">
        <span class="brand">fleetnet</span>
        <nav class="views" aria-label="Views">
          <ul>
            {VIEWS.map((v) => (
              <li key={v.id}>
                <a href={`#/${v.id}`} aria-current={v.id === view.id ? 'page' : undefined}>
                  {v.title}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <span class="who">
          <span>{session.who()}</span>
          <button type="button" onClick={() => void session.signOut().then(() => setSignedIn(false))}>
            Sign out
          </button>
        </span>
      </header>
      <main id="main" tabIndex={-1}>
        <View key={view.id} api={api} params={route.params} />
      </main>
    </>
  );
}

function SignIn({ session, expired, onSignedIn }: { session: Session; expired: boolean; onSignedIn: () => void }) {
  const [token, setToken] = useState('');
  return (
    <main id="main" class="signin">
      <h1>Sign in to the fleetnet console</h1>
      {expired && <p class="error" role="alert">The API refused the token (expired or invalid). Sign in again.</p>}
      {session.config.auth === 'entra' ? (
        <button class="primary" type="button" onClick={() => void session.signIn()}>
          Sign in with Microsoft Entra ID
        </button>
      ) : (
        <form
          onSubmit={(event) => {
            event.preventDefault();
            session.signInWithToken(token);
            onSignedIn();
          }}
        >
          <p>
            Paste a bearer token for this API (locally: <code>npm run token -- --role Fleet.Reader</code>). It stays in this tab only.
          </p>
          <label for="token">Token</label>
          <textarea id="token" rows={4} value={token} onInput={(e) => setToken((e.target as HTMLTextAreaElement).value)} required />
          <p>
            <button class="primary" type="submit">
              Sign in
            </button>
          </p>
        </form>
      )}
    </main>
  );
}
