import { RdvError } from '../errors.js';
import type { GlobalOptions } from './context.js';

export async function run(_g: GlobalOptions, _opts: unknown): Promise<void> {
  throw new RdvError('failed', 'rdv watch is not built yet');
}
