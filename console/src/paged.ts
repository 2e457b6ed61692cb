/** Every page of a list operation (`{items, nextLink}`), following nextLink's continuation token. */
import type { Api } from './api.js';

export async function listAll<T>(api: Api, path: string, maxItems = 5000): Promise<T[]> {
  const items: T[] = [];
  let next: string | null = `${path}${path.includes('?') ? '&' : '?'}maxPageSize=500`;
  while (next && items.length < maxItems) {
    const page: { items: T[]; nextLink: string | null } = await api('GET', next);
    items.push(...page.items);
    const link: string | null = page.nextLink;
    next = link ? `${path}${path.includes('?') ? '&' : '?'}maxPageSize=500&continuationToken=${encodeURIComponent(new URL(link, location.href).searchParams.get('continuationToken') ?? '')}` : null;
  }
  return items;
}
