// Provisioning, as an operator does once per HSM: each key the program needs is looked up by its logical
// name and created when the backend does not hold it yet. Application code after this names logical keys
// only, so the same code runs on every backend the configuration can name.
import { isKeyswitchError } from '@keyswitch/core';

/**
 * The label a key is created under so that its configured `ref` finds it: the object of a `pkcs11:` URI,
 * a KMS alias without `alias/`, or a software-HSM name as it is.
 */
export function labelFor(ref) {
  if (ref.startsWith('alias/')) return ref.slice('alias/'.length);
  if (ref.startsWith('pkcs11:')) {
    const object = /(?:^pkcs11:|;)object=([^;?]+)/.exec(ref);
    if (object) return decodeURIComponent(object[1]);
  }
  return ref;
}

/** Creates each named key that is missing; says which were found and which were created. */
export async function provisionKeys(ks, names, say) {
  for (const name of names) {
    const { provider, ref, spec, usage, algorithm } = ks.keyConfig(name);
    try {
      const found = await ks.describe(name);
      if (found.spec !== spec) {
        throw new Error(`key ${name}: the backend key is ${found.spec}, the configuration says ${spec}`);
      }
      say(`key ${name}: found ${spec} (${algorithm}) at ${ref}`);
    } catch (error) {
      if (!isKeyswitchError(error, 'KEY_NOT_FOUND')) throw error;
      await (await ks.provider(provider)).createKey({ spec, usage, label: labelFor(ref) });
      say(`key ${name}: created ${spec} for ${usage} (${algorithm}) at ${ref}`);
    }
  }
}

/** Counts the audit events of a registry by operation and outcome, for the summary a server prints at exit. */
export function auditCounter(ks) {
  const counts = new Map();
  ks.onAudit((event) => {
    const key = `${event.operation}${event.outcome === 'success' ? '' : ` (${event.errorCode ?? event.outcome})`}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  });
  return () => [...counts].map(([operation, count]) => `${operation} ×${count}`).join(', ') || 'none';
}
