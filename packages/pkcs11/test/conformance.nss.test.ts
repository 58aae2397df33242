import { conformanceOn } from './support/conformance-target.js';

conformanceOn('nss');
