/**
 * The suite file format (docs/suites.md) as a TypeBox schema: one definition gives the
 * runtime validator used by the loader and the JSON Schema exported to
 * schemas/suite.schema.json for editors. Every object rejects unknown fields, so a typo
 * (`dealine:`) is an error with its line instead of a silently ignored key.
 *
 * `errorMessage` (the keyword ajv-errors uses for the same purpose) holds the message a
 * person reads; the loader prefixes it with `FILE:LINE:COL: field:`.
 */
import { Type, type Static } from '@sinclair/typebox';
import { MACHINE_TYPES } from '../vmm/qemu.js';

export const SUITE_NAME_PATTERN = '^[a-z0-9][a-z0-9-]*$';
export const CASE_ID_PATTERN = '^[a-z0-9][a-z0-9._-]*$';

export const ACCELERATORS = ['kvm', 'tcg'] as const;

const Name = Type.String({
  pattern: SUITE_NAME_PATTERN,
  maxLength: 64,
  errorMessage: 'expected a name of lower-case letters, digits and dashes ([a-z0-9-]+, at most 64)',
});

const CaseId = Type.String({
  pattern: CASE_ID_PATTERN,
  maxLength: 128,
  errorMessage: 'expected an id of lower-case letters, digits, dots, underscores and dashes ([a-z0-9][a-z0-9._-]*)',
});

const Text = Type.String({ maxLength: 4096, errorMessage: 'expected a string' });

const Machine = Type.Union(
  MACHINE_TYPES.map((m) => Type.Literal(m)),
  { errorMessage: `expected one of ${MACHINE_TYPES.join(', ')}` },
);

const AccelList = Type.Array(
  Type.Union(
    ACCELERATORS.map((a) => Type.Literal(a)),
    { errorMessage: `expected one of ${ACCELERATORS.join(', ')}` },
  ),
  {
    minItems: 1,
    uniqueItems: true,
    errorMessage: `expected a non-empty list of distinct accelerators (${ACCELERATORS.join(', ')})`,
  },
);

const PositiveInt = (max: number, what: string) =>
  Type.Integer({ minimum: 1, maximum: max, errorMessage: `expected a whole number of ${what} from 1 to ${max}` });

const StringList = (what: string) =>
  Type.Array(Type.String({ minLength: 1, maxLength: 256, errorMessage: `expected a non-empty ${what}` }), {
    maxItems: 256,
    errorMessage: `expected a list of ${what}s`,
  });

const ArgValue = Type.Union(
  [
    Type.String({ maxLength: 4096 }),
    Type.Number(),
    Type.Boolean(),
    Type.Array(Type.String({ maxLength: 4096 }), { maxItems: 256 }),
  ],
  { errorMessage: 'expected a string, number, true/false or a list of strings' },
);

/** Fields a case can set, and that `defaults:` and `quick:` can set for every case. */
const caseFields = {
  title: Type.Optional(Text),
  kind: Type.Optional(
    Type.String({ pattern: SUITE_NAME_PATTERN, maxLength: 64, errorMessage: 'expected an executor kind ([a-z0-9-]+)' }),
  ),
  guest: Type.Optional(
    Type.String({
      pattern: '^[a-z0-9][a-z0-9._-]*$',
      maxLength: 64,
      errorMessage: 'expected a guest name ([a-z0-9][a-z0-9._-]*)',
    }),
  ),
  machine: Type.Optional(Machine),
  accel: Type.Optional(AccelList),
  vcpus: Type.Optional(PositiveInt(1024, 'vCPUs')),
  /** MiB */
  memory: Type.Optional(PositiveInt(1024 * 1024, 'MiB')),
  args: Type.Optional(
    Type.Record(Type.String({ pattern: '^[A-Za-z0-9_.-]+$' }), ArgValue, {
      errorMessage: 'expected a mapping of argument names to values',
    }),
  ),
  repeat: Type.Optional(PositiveInt(100_000, 'repetitions')),
  /** Seconds for the whole case. */
  deadline: Type.Optional(
    Type.Number({ exclusiveMinimum: 0, maximum: 86_400, errorMessage: 'expected a positive number (seconds, at most 86400)' }),
  ),
  /** Seconds each QEMU launch may take to show the guest's first byte (default by accelerator and guest). */
  startup: Type.Optional(
    Type.Number({ exclusiveMinimum: 0, maximum: 3_600, errorMessage: 'expected a positive number (seconds, at most 3600)' }),
  ),
  tags: Type.Optional(StringList('tag')),
  requires: Type.Optional(StringList('doctor check id')),
};

/** What `quick:` (suite-level or per case) and `include[].set` may override. */
export const CaseOverrides = Type.Object(
  {
    title: caseFields.title,
    machine: caseFields.machine,
    accel: caseFields.accel,
    vcpus: caseFields.vcpus,
    memory: caseFields.memory,
    args: caseFields.args,
    repeat: caseFields.repeat,
    deadline: caseFields.deadline,
    startup: caseFields.startup,
    tags: caseFields.tags,
    requires: caseFields.requires,
  },
  { additionalProperties: false, errorMessage: 'expected a mapping of case fields' },
);
export type CaseOverrides = Static<typeof CaseOverrides>;

export const CaseDefaults = Type.Object(caseFields, {
  additionalProperties: false,
  errorMessage: 'expected a mapping of case fields',
});
export type CaseDefaults = Static<typeof CaseDefaults>;

export const SuiteCase = Type.Object(
  {
    id: CaseId,
    ...caseFields,
    quick: Type.Optional(CaseOverrides),
  },
  { additionalProperties: false, errorMessage: 'expected a case (a mapping with at least `id`)' },
);
export type SuiteCase = Static<typeof SuiteCase>;

export const SuiteInclude = Type.Object(
  {
    /** Name of another suite, looked up beside this file, then among the shipped suites. */
    suite: Name,
    /** Case ids or globs (`*`, `?`) to take; default all. */
    only: Type.Optional(StringList('case id or glob')),
    /** Case ids or globs to leave out. */
    skip: Type.Optional(StringList('case id or glob')),
    /** Apply the included suite's `quick:` overrides even without --quick. */
    quick: Type.Optional(Type.Boolean({ errorMessage: 'expected true or false' })),
    /** Overrides applied to every included case (after its own fields and quick overrides). */
    set: Type.Optional(CaseOverrides),
  },
  {
    additionalProperties: false,
    errorMessage: 'expected a mapping with `suite:` (and optional `only:`, `skip:`, `quick:`, `set:`)',
  },
);
export type SuiteInclude = Static<typeof SuiteInclude>;

/**
 * `sampling:` a suite's default adaptive sampling (docs/suites.md): what `--precision`,
 * `--max-samples`, `--max-time` and `--max-rounds` ask, used when the command line gives no
 * `--precision` and the run is not `--quick`. Only the top-level suite's applies.
 */
export const SuiteSampling = Type.Object(
  {
    precision: Type.String({
      pattern: '^\\s*\\d+(\\.\\d+)?\\s*%\\s*$',
      errorMessage: 'expected a percentage such as 2% (the relative half-width of the 95 % interval of the median)',
    }),
    max_samples: Type.Optional(
      Type.Integer({ minimum: 11, maximum: 1000, errorMessage: 'expected a whole number of samples from 11 to 1000' }),
    ),
    max_time: Type.Optional(
      Type.String({
        pattern: '^\\s*\\d+(\\.\\d+)?\\s*(ms|s|m|min)\\s*$',
        errorMessage: 'expected a duration such as 20s, 2m or 1500ms',
      }),
    ),
    max_rounds: Type.Optional(PositiveInt(50, 'rounds')),
  },
  {
    additionalProperties: false,
    errorMessage: 'expected a mapping with `precision:` (and optional `max_samples:`, `max_time:`, `max_rounds:`)',
  },
);
export type SuiteSampling = Static<typeof SuiteSampling>;

export const SuiteFile = Type.Object(
  {
    suite: Name,
    description: Type.Optional(Text),
    /**
     * One case per test of this guest's list of tests (guests/<guest>/tests.def), in its order:
     * id and `args.test` the test's name, title what it does, tags `defaults.tags` then the
     * test's own. A `cases:` entry with a test's id overrides that case's fields.
     */
    guest_tests: Type.Optional(caseFields.guest),
    defaults: Type.Optional(CaseDefaults),
    quick: Type.Optional(CaseOverrides),
    sampling: Type.Optional(SuiteSampling),
    include: Type.Optional(Type.Array(SuiteInclude, { maxItems: 256, errorMessage: 'expected a list of includes' })),
    cases: Type.Optional(Type.Array(SuiteCase, { maxItems: 10_000, errorMessage: 'expected a list of cases' })),
  },
  {
    $id: 'https://kvmbench.dev/schemas/suite.schema.json',
    title: 'kvmbench suite file',
    additionalProperties: false,
    errorMessage: 'expected a mapping with `suite:` and `cases:`, `guest_tests:` or `include:`',
  },
);
export type SuiteFile = Static<typeof SuiteFile>;

/** Values a case gets when neither it nor the suite's `defaults:` set them. */
export const BUILTIN_DEFAULTS = {
  machine: 'q35',
  accel: ['kvm', 'tcg'],
  vcpus: 1,
  memory: 64,
  repeat: 10,
  deadline: 60,
} as const;
