// Facts fixed when the bundles are built. esbuild replaces SLUICE_VERSION with
// package.json's version in every bundle (esbuild.config.mjs), so no bundle
// reads or carries package.json at run time; code run without the build
// (type checking, a test importing the source) sees a plain marker.
declare const SLUICE_VERSION: string | undefined;

/** The version of Sluice these bundles were built from. */
export const VERSION: string = typeof SLUICE_VERSION === 'string' ? SLUICE_VERSION : '0.0.0-unbuilt';
