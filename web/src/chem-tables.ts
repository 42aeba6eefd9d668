// The Hill formula of a molecule's elements (presentation only; element tables live in the core).

/** Hill notation: C first, then H, then the rest alphabetically; without C, all alphabetically. */
export function hillFormula(elements: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const e of elements) counts.set(e, (counts.get(e) ?? 0) + 1);
  const keys = [...counts.keys()].sort();
  const order = counts.has('C') ? ['C', ...(counts.has('H') ? ['H'] : []), ...keys.filter((k) => k !== 'C' && k !== 'H')] : keys;
  return order.map((k) => k + (counts.get(k)! > 1 ? counts.get(k) : '')).join('');
}
