import { render } from 'preact';
import { App } from './app.js';
import { openSession } from './session.js';

const root = document.getElementById('app')!;
openSession().then(
  (session) => render(<App session={session} />, root),
  (error: unknown) => {
    root.textContent = `The console could not start: ${error instanceof Error ? error.message : String(error)}`;
  },
);
