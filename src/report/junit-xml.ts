/**
 * The one JUnit writer (junit-report-builder) behind every JUnit view: a run's
 * (./junit.ts), a comparison's (./compare/junit.ts), the doctor's (./doctor/junit.ts). Views
 * describe suites and cases format-neutrally; this module does the XML and the quirks of CI
 * readers (hostname attribute, a message on <skipped>, XML-illegal characters).
 */
import jrbModule, { type Builder } from 'junit-report-builder';
import { stripAnsi, xmlSafe as xmlChars } from './format.js';

/** Guest text carries colour codes; a JUnit reader would show them as garbage. */
const xmlSafe = (s: string): string => xmlChars(stripAnsi(s));

/** Format-neutral description of a JUnit file, so `compare` can emit JUnit too. */
export interface JunitCase {
  name: string;
  classname: string;
  timeSec: number;
  outcome: 'pass' | 'failure' | 'error' | 'skipped';
  /** Short message (failure/error/skipped reason). */
  message?: string;
  /** Longer text inside <failure>/<error>. */
  detail?: string;
  properties?: ReadonlyArray<[string, string]>;
  systemOut?: string;
}

export interface JunitSuite {
  name: string;
  timeSec: number;
  /** ISO 8601; written in UTC without zone because the JUnit schema has no zone. */
  timestamp?: string;
  hostname?: string;
  properties?: ReadonlyArray<[string, string]>;
  cases: JunitCase[];
}

/** The parts of xmlbuilder's element we touch after junit-report-builder built it. */
interface XmlEl {
  children?: Array<{ name?: string; att(name: string, value: string): unknown }>;
  att(name: string, value: string): unknown;
}

// The package is CommonJS whose module.exports is the builder; its typings declare an ES
// default export. Accept both shapes so Node, vitest and tsc agree.
const rootBuilder = ((jrbModule as unknown as { default?: Builder }).default ?? jrbModule) as unknown as Builder;

function junitTimestamp(iso: string | undefined): string | undefined {
  if (!iso) return undefined;
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return undefined;
  return d.toISOString().slice(0, 19);
}

function secs(v: number): number {
  return Number.isFinite(v) && v > 0 ? Math.round(v * 1000) / 1000 : 0;
}

export function buildJunit(name: string, suites: readonly JunitSuite[]): string {
  // A fresh builder each time: the package's default export is a shared singleton.
  const builder = rootBuilder.newBuilder();
  builder.name(xmlSafe(name));
  for (const s of suites) {
    const suite = builder.testSuite().name(xmlSafe(s.name)).time(secs(s.timeSec));
    const ts = junitTimestamp(s.timestamp);
    if (ts) suite.timestamp(ts);
    for (const [k, v] of s.properties ?? []) suite.property(xmlSafe(k), xmlSafe(v));
    // The builder has no setter for the standard `hostname` attribute: add it to the built element.
    const hostname = xmlSafe(s.hostname ?? 'unknown');
    const buildSuite = suite.build.bind(suite);
    suite.build = (parent?: Parameters<typeof buildSuite>[0]) => {
      const el = buildSuite(parent) as unknown as XmlEl;
      el.att('hostname', hostname);
      return el as unknown as ReturnType<typeof buildSuite>;
    };
    for (const c of s.cases) {
      const tc = suite.testCase().className(xmlSafe(c.classname)).name(xmlSafe(c.name)).time(secs(c.timeSec));
      for (const [k, v] of c.properties ?? []) tc.property(xmlSafe(k), xmlSafe(v));
      if (c.outcome === 'failure') {
        tc.failure(xmlSafe(c.message ?? 'failed'), 'failure');
        if (c.detail) tc.stacktrace(xmlSafe(c.detail));
      } else if (c.outcome === 'error') {
        tc.error(xmlSafe(c.message ?? 'error'), 'error', c.detail ? xmlSafe(c.detail) : undefined);
      } else if (c.outcome === 'skipped') {
        tc.skipped();
        // skipped() takes no message; readers show `message`, so set it on the built element.
        const message = xmlSafe(c.message ?? 'skipped');
        const buildCase = tc.build.bind(tc);
        tc.build = (parent: Parameters<typeof buildCase>[0]) => {
          const el = buildCase(parent) as unknown as XmlEl;
          el.children?.find((ch) => ch.name === 'skipped')?.att('message', message);
          return el as unknown as ReturnType<typeof buildCase>;
        };
      }
      if (c.systemOut) tc.standardOutput(xmlSafe(c.systemOut));
    }
  }
  return builder.build() + '\n';
}
