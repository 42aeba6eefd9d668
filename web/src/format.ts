// printf-style number formatting, so the CLI prints exactly what the native `enf` prints.

function stripZeros(s: string): string {
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}

function expParts(v: number, digits: number): { mantissa: string; exp: number } {
  const [m, e] = v.toExponential(digits).split('e');
  return { mantissa: m, exp: Number(e) };
}

function expString(mantissa: string, exp: number): string {
  return `${mantissa}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
}

/** C's %.<p>e */
export function formatE(v: number, p: number): string {
  if (!Number.isFinite(v)) return Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf';
  const { mantissa, exp } = expParts(v, p);
  return expString(mantissa, exp);
}

/** C's %.<p>g */
export function formatG(v: number, p = 6): string {
  if (!Number.isFinite(v)) return Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const P = p === 0 ? 1 : p;
  const { mantissa, exp } = expParts(v, P - 1);
  if (exp < P && exp >= -4) return stripZeros(v.toFixed(P - 1 - exp));
  return expString(stripZeros(mantissa), exp);
}

/** C's %.<p>f */
export function formatF(v: number, p: number): string {
  if (!Number.isFinite(v)) return Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf';
  return v.toFixed(p);
}

/** The native CLI's json_number: %.10g, null for non-finite numbers. */
export function jsonNumber(v: number | null): string {
  return v === null || !Number.isFinite(v) ? 'null' : formatG(v, 10);
}

/** C's %-<w>s */
export function padRight(s: string, w: number): string {
  return s.length >= w ? s : s + ' '.repeat(w - s.length);
}
