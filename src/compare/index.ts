/** `kvmbench compare`: judging runs against each other (see docs/compare.md). */
export {
  COMPARE_SCHEMA,
  DEFAULT_ALPHA,
  DEFAULT_NOISE_BAND,
  DEFAULT_SEED,
  IncomparableError,
  MIN_SAMPLES_PER_SIDE,
  VERDICTS,
  classifyHosts,
  comparePair,
  compareRuns,
  identityLabels,
  metricKey,
  parseThreshold,
  samplesNeededForAnyVerdict,
  type CompareOptions,
  type Comparison,
  type LabelledResults,
  type MetricComparison,
  type MetricVerdict,
  type PairComparison,
} from './compare.js';
export { COMPARE_FORMATS, renderComparison, type CompareFormat } from './render.js';
