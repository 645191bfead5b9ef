/** Kept equal to package.json's version by test/unit/version.test.ts (no file read at startup). */
export const RDV_VERSION = '0.1.0';
