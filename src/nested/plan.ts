/**
 * The nested lab's plan: what kvmbench at layer 1 does in one boot of L1, written by the host
 * into the channel directory (`/io/plan.json`) and read by `kvmbench nested-l1` inside L1. One
 * Node process there runs the doctor and then each step (a suite run against L2 guests), so
 * Node and kvmbench load once per boot, not once per suite.
 */
import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { UsageError } from '../errors.js';

export const NESTED_PLAN_SCHEMA = 'kvmbench.nested-plan/1';

export const NestedStep = Type.Object(
  {
    /** The step's directory under `steps/` in the channel; [a-z0-9-]. */
    id: Type.String({ pattern: '^[a-z0-9][a-z0-9-]*$' }),
    /** A shipped suite name or a suite file's absolute path (shared with L1 read-only). */
    suite: Type.String({ minLength: 1 }),
    quick: Type.Boolean(),
    only: Type.Optional(Type.Array(Type.String())),
    skip: Type.Optional(Type.Array(Type.String())),
    repeat: Type.Optional(Type.Integer({ minimum: 1 })),
    machine: Type.Optional(Type.String()),
    rounds: Type.Optional(Type.Integer({ minimum: 1 })),
    /** Adaptive sampling as the host's run was asked for it (--precision, --max-samples, --max-time, or the suite's default). */
    sampling: Type.Optional(
      Type.Object(
        {
          precision: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
          maxSamples: Type.Optional(Type.Integer({ minimum: 1 })),
          maxTimeMs: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
        },
        { additionalProperties: false },
      ),
    ),
    /** With sampling and rounds above 1: at most this many rounds a case (--max-rounds). */
    maxRounds: Type.Optional(Type.Integer({ minimum: 1 })),
    /**
     * Every case's deadline is multiplied by this at layer 2: under an outer TCG each L2 exit
     * costs tens of microseconds, so suites' deadlines (set for one layer) would cut samples short.
     */
    deadlineScale: Type.Optional(Type.Number({ minimum: 1, maximum: 100 })),
    /** Suite kut: the kvm-unit-tests tree's absolute path, shared with L1 read-only at the same path. */
    kutDir: Type.Optional(Type.String({ minLength: 1 })),
  },
  { additionalProperties: false },
);
export type NestedStep = Static<typeof NestedStep>;

export const NestedPlan = Type.Object(
  {
    schema: Type.Literal(NESTED_PLAN_SCHEMA),
    /** The host's argv, recorded in L2's results. */
    argv: Type.Array(Type.String()),
    steps: Type.Array(NestedStep, { minItems: 1 }),
  },
  { additionalProperties: false },
);
export type NestedPlan = Static<typeof NestedPlan>;

const checker = TypeCompiler.Compile(NestedPlan);

export function parsePlan(text: string, file: string): NestedPlan {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${file}: not JSON (${(e as Error).message})`);
  }
  if (!checker.Check(doc)) {
    const first = [...checker.Errors(doc)][0];
    throw new UsageError(`${file}: not a nested plan: ${first ? `${first.path || '/'} ${first.message}` : 'invalid'}`);
  }
  return doc;
}

/** Files in the channel directory, shared by both layers. */
export const CHANNEL_FILES = {
  plan: 'plan.json',
  layout: 'layout',
  /** L1's doctor report (`doctor --json` shape). */
  doctor: 'doctor.json',
  /** L1's kvmbench exit code, one line. */
  exit: 'l1-exit',
  /** The results directory of step ID is `steps/ID`. */
  steps: 'steps',
} as const;
