/** Circuit states as numbers, the same as cockatiel's `CircuitState`. */
export const CIRCUIT_STATES = Object.freeze({ closed: 0, open: 1, half_open: 2, isolated: 3 } as const);

export type CircuitStateName = keyof typeof CIRCUIT_STATES;

const BY_NAME: Readonly<Record<string, number>> = {
  closed: 0,
  open: 1,
  half_open: 2,
  halfopen: 2,
  'half-open': 2,
  isolated: 3,
};

/** The number (0..3) of a circuit state given as that number or as a name; `undefined` when it is neither. */
export function circuitStateNumber(state: unknown): number | undefined {
  if (typeof state === 'number') return Number.isInteger(state) && state >= 0 && state <= 3 ? state : undefined;
  if (typeof state === 'string') return BY_NAME[state.toLowerCase()];
  return undefined;
}
