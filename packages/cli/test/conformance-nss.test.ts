import { declareCliConformance } from './pkcs11-cli-conformance.js';

// NSS softokn, in a process of its own.
declareCliConformance(['nss']);
