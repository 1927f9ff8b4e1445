import type { CheckOutcome } from '../types.js';

/** Outcome constructors shared by every check module: evidence always, a fix for anything not `pass`. */
export const pass = (evidence: string[]): CheckOutcome => ({ status: 'pass', evidence });
export const warn = (evidence: string[], fix: string): CheckOutcome => ({ status: 'warn', evidence, fix });
export const fail = (evidence: string[], fix: string): CheckOutcome => ({ status: 'fail', evidence, fix });
export const skip = (evidence: string[], fix: string): CheckOutcome => ({ status: 'skip', evidence, fix });
