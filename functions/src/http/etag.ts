/**
 * Entity tags. A stored version (opaque string) is sent as a strong ETag: the version in double quotes.
 * Comparison follows RFC 9110: If-Match uses strong comparison, If-None-Match weak comparison; both
 * accept a comma-separated list and `*`.
 */
export function formatEtag(version: string): string {
  return `"${version}"`;
}

function parseEtagList(header: string): string[] {
  return header
    .split(',')
    .map((tag) => tag.trim())
    .filter((tag) => tag.length > 0);
}

/** True when an If-Match header admits `version` (a `*` admits any existing resource). */
export function ifMatchAdmits(header: string, version: string | undefined): boolean {
  if (version === undefined) return false;
  const tags = parseEtagList(header);
  return tags.includes('*') || tags.includes(formatEtag(version));
}

/** True when an If-None-Match header names `version` (weakly) or is `*` with a resource present. */
export function ifNoneMatchHits(header: string, version: string | undefined): boolean {
  if (version === undefined) return false;
  const wanted = formatEtag(version);
  return parseEtagList(header).some((tag) => tag === '*' || tag === wanted || tag === `W/${wanted}`);
}
