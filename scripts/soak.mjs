#!/usr/bin/env node
// The chaos soak of issue 7 (src/simnet/soak/): `npm run soak -- --payments 200 --seed 1`;
// with --regtest, on real lightningd and bitcoind (src/soak-regtest/).
// Prints one JSON line; exits 1 on lost money, a stuck HTLC or a force close.
const { main } = await import(new URL('../dist/src/simnet/soak/main.js', import.meta.url).href);
const code = await main(process.argv.slice(2));
process.exit(code);
