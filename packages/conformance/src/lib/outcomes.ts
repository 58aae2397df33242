/**
 * How a check ends other than passing: the provider does not declare what the check needs (and was shown
 * to refuse it with UNSUPPORTED_ALGORITHM), or the check could not run here (no key for its purpose, no
 * importer). Anything else thrown is a failure.
 */
export class NotSupported extends Error {
  override readonly name = 'NotSupported';
}

/** A check that could not run with the given options; the message says what it needs. */
export class NotRun extends Error {
  override readonly name = 'NotRun';
}

/** A check that found the provider behaving wrongly. */
export class CheckFailed extends Error {
  override readonly name = 'CheckFailed';
}

/**
 * Marks the test context the package's own runner passes, so that tests hand it NotSupported and NotRun
 * as they are instead of turning them into a `context.skip(note)` call.
 */
export const RUNNER_CONTEXT: unique symbol = Symbol('keyswitch.conformance.runner');
