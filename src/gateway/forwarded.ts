/**
 * RFC 7239 `Forwarded` header: `for=192.0.2.60;proto=https;host=api.example.com, for=...`.
 * Only read from trusted proxies (the caller decides). Values may be quoted; IPv6 `for`
 * values come as `"[2001:db8::1]:4711"`.
 */
export interface ForwardedElement {
  for?: string;
  proto?: string;
  host?: string;
  by?: string;
}

function unquote(v: string): string {
  const t = v.trim();
  return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1).replace(/\\(.)/g, '$1') : t;
}

/** The node of a `for=` value without brackets or port: `"[2001:db8::1]:4711"` → `2001:db8::1`. */
export function forwardedNode(v: string): string {
  if (v.startsWith('[')) {
    const close = v.indexOf(']');
    return close === -1 ? v : v.slice(1, close);
  }
  const colon = v.indexOf(':');
  return colon === -1 || v.indexOf(':', colon + 1) !== -1 ? v : v.slice(0, colon);
}

/** Parses every element, in order (the last one was added by the nearest proxy). */
export function parseForwarded(header: string | undefined): ForwardedElement[] {
  if (!header) return [];
  const out: ForwardedElement[] = [];
  // Commas inside quoted values are not separators.
  for (const element of header.match(/(?:[^,"]|"(?:[^"\\]|\\.)*")+/g) ?? []) {
    const e: ForwardedElement = {};
    for (const pair of element.match(/(?:[^;"]|"(?:[^"\\]|\\.)*")+/g) ?? []) {
      const eq = pair.indexOf('=');
      if (eq === -1) continue;
      const key = pair.slice(0, eq).trim().toLowerCase();
      if (key === 'for' || key === 'proto' || key === 'host' || key === 'by') e[key] = unquote(pair.slice(eq + 1));
    }
    out.push(e);
  }
  return out;
}
