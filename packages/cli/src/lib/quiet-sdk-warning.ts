/**
 * Turns off the AWS SDK's Node.js version notice (an eight-line `NodeVersionSupportWarning` printed on
 * stderr by the first KMS client of the process) through the SDK's documented switch,
 * `AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true`, unless the user set that variable themselves.
 * The notice is about the SDK's future releases, not about this command's result, and it broke the
 * command's output for scripts reading stderr.
 *
 * @example
 * ```ts
 * quietSdkVersionWarning(); // before any aws-kms provider is created
 * ```
 */
export function quietSdkVersionWarning(env: NodeJS.ProcessEnv = process.env): void {
  env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
}
