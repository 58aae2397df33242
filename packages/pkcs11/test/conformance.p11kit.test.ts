import { conformanceOn } from './support/conformance-target.js';

// The SoftHSM2 token served over a Unix socket by `p11-kit server` and reached through p11-kit-client.so:
// a remote token, as a network HSM's client library is one.
conformanceOn('softhsm2-p11kit');
