import { declareCliConformance } from './pkcs11-cli-conformance.js';

// SoftHSM2 under the softhsm and generic profiles.
declareCliConformance(['softhsm', 'generic']);
