/**
 * Two staff requests raced at the payment provider, deterministically: both are sent at once and each is held
 * inside the real manual provider (capture, cancel or refund) until both are there, so each has read the order
 * and its payment before either wrote. The call `isFirst` picks is let go and answered in full; only then do the
 * others go on, against the order as the first left it.
 *
 * Both sides wait in short pauses on plain flags, never on a promise the other side settles: workerd cancels a
 * request that awaits something only another request could settle ("Promise will never complete").
 */
import { vi } from 'vitest';
import { manualProvider } from '../../src/modules/payments/manual-provider';
import { admin } from './admin-fixtures';

export type ProviderMethod = 'capture' | 'cancel' | 'refund';
export type RacedRequest = { path: string; body?: unknown };
type HeldCall = { method: ProviderMethod; args: unknown[]; released: boolean };

export const pause = () => new Promise((resolve) => setTimeout(resolve, 5));

export async function raceAtProvider(
  methods: ProviderMethod[],
  requests: [RacedRequest, RacedRequest],
  isFirst: (call: { method: ProviderMethod; args: unknown[] }) => boolean,
): Promise<{ winner: Response; loser: Response; answered: number[] }> {
  const held: HeldCall[] = [];
  const spies = methods.map((method) => {
    const real = manualProvider[method] as (...args: unknown[]) => Promise<unknown>;
    return vi.spyOn(manualProvider, method).mockImplementation((async (...args: unknown[]) => {
      const call = { method, args, released: false };
      held.push(call);
      while (!call.released) await pause();
      return real(...args);
    }) as never);
  });
  try {
    const answered: number[] = [];
    const sent = requests.map((request, i) =>
      admin('POST', request.path, request.body).finally(() => answered.push(i)),
    );
    while (held.length < 2) {
      // A request answered before reaching the provider was refused up front: there was no race to force.
      if (answered.length > 0) throw new Error(`request ${answered[0]} was answered before both were held`);
      await pause();
    }
    const winner = held.find(isFirst);
    if (!winner) throw new Error('no held call is the one to let go first');
    winner.released = true;
    while (answered.length === 0) await pause();
    for (const call of held) call.released = true;
    const responses = await Promise.all(sent);
    const [winnerIndex = 0, loserIndex = 1] = answered;
    return { winner: responses[winnerIndex] as Response, loser: responses[loserIndex] as Response, answered };
  } finally {
    // Nothing stays held (and polling) if the race could not be set up.
    for (const call of held) call.released = true;
    for (const spy of spies) spy.mockRestore();
  }
}
