/** The token families keyswitch knows the quirks of. */
export type Pkcs11ProfileName = 'cloudhsm' | 'softhsm' | 'nss' | 'opencryptoki' | 'generic';

/** What a profile tells the provider about a token, beyond what its mechanism list says. */
export interface Pkcs11Profile {
  readonly name: Pkcs11ProfileName;
  /**
   * How AES-GCM gets its IV: `'host'` (keyswitch draws a random 96-bit IV and passes it in) or `'token'`
   * (the HSM ignores the IV it is given and generates its own, which it returns appended to the ciphertext
   * or writes back through the mechanism's IV pointer; AWS CloudHSM).
   */
  readonly gcmIv: 'host' | 'token';
  /**
   * Whether C_SetAttributeValue can change a key's usage flags. keyswitch disables a key by clearing them,
   * so without it enableKey and disableKey are not offered (AWS CloudHSM).
   */
  readonly setAttributeValue: boolean;
  /** Whether to try ECDH with the null KDF (raw shared secret) at all. AWS CloudHSM documents ECDH only with an X9.63 KDF. */
  readonly ecdhNullKdf: boolean;
  /**
   * Whether the token itself refuses a private or secret key whose usage attribute is false (as SoftHSM2
   * does with CKR_KEY_FUNCTION_NOT_PERMITTED). Then keyswitch reads the key's state only when the token
   * refuses; otherwise it reads it before every operation. Operations with a public key always check.
   */
  readonly enforcesUsageAttributes: boolean;
  /**
   * Whether C_FindObjects must not run while a token object is being generated: SoftHSM2's file store
   * re-indexes without its lock and can invalidate the new object (CKR_GENERAL_ERROR); opencryptoki can
   * list an object generated meanwhile twice, under two handles, for the rest of the process.
   */
  readonly searchRacesCreation: boolean;
  /**
   * Whether a key generation that fails with CKR_GENERAL_ERROR (or CKR_TEMPLATE_INCONSISTENT under load)
   * created nothing and may be tried again: SoftHSM2's store race. On every other token a failed
   * generation is reported, never retried blindly.
   */
  readonly retriesRacedGeneration: boolean;
  /** Checks the PIN's shape without revealing it; returns a problem description or undefined. */
  readonly pinProblem?: (pin: string) => string | undefined;
  /** Human notes for the capability manifest and the README table. */
  readonly notes: readonly string[];
}

const PROFILES: Readonly<Record<Pkcs11ProfileName, Pkcs11Profile>> = {
  cloudhsm: {
    name: 'cloudhsm',
    gcmIv: 'token',
    setAttributeValue: false,
    ecdhNullKdf: false,
    enforcesUsageAttributes: true,
    searchRacesCreation: false,
    retriesRacedGeneration: false,
    pinProblem: (pin) =>
      /^[^:]+:.+$/.test(pin) ? undefined : 'the AWS CloudHSM PIN must be "crypto-user-name:password"',
    notes: [
      'AWS CloudHSM generates the AES-GCM IV itself; keyswitch stores the IV it returns in the ciphertext blob',
      'AWS CloudHSM has no C_SetAttributeValue or C_CopyObject: enableKey and disableKey are not offered',
      'AWS CloudHSM documents ECDH only with an X9.63 KDF: raw ECDH (null KDF) is not offered',
      'every key keyswitch creates gets a random, unique 16-byte CKA_ID, as AWS CloudHSM requires',
    ],
  },
  softhsm: {
    name: 'softhsm',
    gcmIv: 'host',
    setAttributeValue: true,
    ecdhNullKdf: true,
    enforcesUsageAttributes: true,
    searchRacesCreation: true,
    retriesRacedGeneration: true,
    notes: [
      'SoftHSM2 2.6 has no RSA-OAEP with SHA-256 (CKR_ARGUMENTS_BAD); the probe finds this',
      'SoftHSM2 2.6 re-indexes its file store in C_FindObjectsInit without its lock: keyswitch never searches while it generates a key',
    ],
  },
  nss: {
    name: 'nss',
    gcmIv: 'host',
    setAttributeValue: true,
    ecdhNullKdf: true,
    enforcesUsageAttributes: false,
    searchRacesCreation: false,
    retriesRacedGeneration: false,
    notes: [
      'NSS softokn needs libraryParameters (configdir=…) at C_Initialize; keyswitch adds the trailing space pkcs11js 2.1.7 drops',
      'NSS softokn does not enforce CKA_DERIVE; keyswitch checks a key is enabled before every operation',
      'NSS softokn decrypts a token RSA key from its database in every C_SignInit/C_DecryptInit (about 50 ms), on a worker thread like every PKCS#11 call',
    ],
  },
  opencryptoki: {
    name: 'opencryptoki',
    gcmIv: 'host',
    setAttributeValue: true,
    ecdhNullKdf: true,
    enforcesUsageAttributes: false,
    searchRacesCreation: true,
    retriesRacedGeneration: false,
    notes: [
      'opencryptoki needs its slot daemon pkcsslotd running, and the process in the pkcs11 group',
      'opencryptoki can list a key generated during a search twice: keyswitch never searches while it generates a key',
    ],
  },
  generic: {
    name: 'generic',
    gcmIv: 'host',
    setAttributeValue: true,
    ecdhNullKdf: true,
    enforcesUsageAttributes: false,
    // Unknown tokens get the safe choice: SoftHSM2 and opencryptoki both race a search against a key
    // generation, and keys are created rarely, so keeping them apart costs the signing path nothing.
    searchRacesCreation: true,
    retriesRacedGeneration: false,
    notes: [
      'an unknown token: key generations never overlap a search in this process (some object stores race there)',
    ],
  },
};

/** The quirks of a named profile. */
export function pkcs11Profile(name: Pkcs11ProfileName): Pkcs11Profile {
  return PROFILES[name];
}

/** Every profile name. */
export const PKCS11_PROFILES: readonly Pkcs11ProfileName[] = [
  'cloudhsm',
  'softhsm',
  'nss',
  'opencryptoki',
  'generic',
];
