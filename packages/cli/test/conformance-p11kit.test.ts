import { declareCliConformance } from './pkcs11-cli-conformance.js';

// SoftHSM2 served over a Unix socket by `p11-kit server`, through p11-kit-client.so: a remote token.
declareCliConformance(['p11kit']);
