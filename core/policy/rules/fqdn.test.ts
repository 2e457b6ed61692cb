import { describe, expect, it } from 'vitest';
import { fqdnSelectorMatcher, validateFqdnSelector } from './fqdn.js';

describe('fqdnSelectorMatcher (Cilium matchpattern semantics)', () => {
  it.each([
    // matchName: that name only, case-insensitive, trailing dot ignored
    { selector: { matchName: 'api.github.com' }, name: 'api.github.com', want: true },
    { selector: { matchName: 'api.github.com' }, name: 'API.GitHub.com.', want: true },
    { selector: { matchName: 'api.github.com.' }, name: 'api.github.com', want: true },
    { selector: { matchName: 'api.github.com' }, name: 'x.api.github.com', want: false },
    { selector: { matchName: 'api.github.com' }, name: 'github.com', want: false },
    // * within one label
    { selector: { matchPattern: '*.github.com' }, name: 'api.github.com', want: true },
    { selector: { matchPattern: '*.github.com' }, name: 'a.b.github.com', want: false },
    { selector: { matchPattern: '*.github.com' }, name: 'github.com', want: false },
    { selector: { matchPattern: 'api-*.example.com' }, name: 'api-v1.example.com', want: true },
    { selector: { matchPattern: 'api-*.example.com' }, name: 'api-.example.com', want: true },
    { selector: { matchPattern: 'api-*.example.com' }, name: 'web-v1.example.com', want: false },
    { selector: { matchPattern: '*.blob.core.windows.net' }, name: 'MyAccount.Blob.Core.Windows.Net.', want: true },
    // the dot is a literal dot, not "any character"
    { selector: { matchPattern: 'api.github.com' }, name: 'apixgithub.com', want: false },
    // ** as the leftmost label: one or more whole labels
    { selector: { matchPattern: '**.example.com' }, name: 'a.example.com', want: true },
    { selector: { matchPattern: '**.example.com' }, name: 'a.b.c.example.com', want: true },
    { selector: { matchPattern: '**.example.com' }, name: 'example.com', want: false },
    { selector: { matchPattern: '**.example.com' }, name: 'a.example.org', want: false },
    // a lone * matches every name
    { selector: { matchPattern: '*' }, name: 'anything.at.all', want: true },
    { selector: { matchPattern: '*' }, name: 'localhost', want: true },
    // both fields: either one
    { selector: { matchName: 'a.example.com', matchPattern: '*.example.org' }, name: 'b.example.org', want: true },
    { selector: { matchName: 'a.example.com', matchPattern: '*.example.org' }, name: 'a.example.com', want: true },
  ])('$selector ~ $name → $want', ({ selector, name, want }) => {
    expect(validateFqdnSelector(selector, '', { exclusive: false })).toEqual([]);
    expect(fqdnSelectorMatcher(selector)(name)).toBe(want);
  });
});
