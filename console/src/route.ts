/**
 * Deep links: the whole view state lives in the URL's hash, `#/<view>?<params>` (e.g.
 * `#/flows?since=1h&verdict=DROPPED`), so an analyst can share exactly what they see. The server serves one
 * page; the hash never reaches it.
 */
import { useEffect, useState } from 'preact/hooks';

export interface Route {
  view: string;
  params: URLSearchParams;
}

export function parseRoute(hash: string): Route {
  const text = hash.replace(/^#\/?/, '');
  const q = text.indexOf('?');
  const view = (q < 0 ? text : text.slice(0, q)) || 'fleet';
  return { view, params: new URLSearchParams(q < 0 ? '' : text.slice(q + 1)) };
}

export function routeHref(view: string, params: Record<string, string | undefined> | URLSearchParams = {}): string {
  const search = params instanceof URLSearchParams ? params : new URLSearchParams(Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== ''));
  const text = search.toString();
  return `#/${view}${text ? `?${text}` : ''}`;
}

export function navigate(view: string, params: Record<string, string | undefined> | URLSearchParams = {}): void {
  const href = routeHref(view, params);
  if (location.hash !== href) location.hash = href;
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(location.hash));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}
