import { declareBackendTests } from './support/backend-suite.js';

declareBackendTests('nss');
