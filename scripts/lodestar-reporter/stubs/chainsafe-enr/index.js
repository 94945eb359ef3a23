// Stub for @chainsafe/enr: never imported by @lodestar/beacon-node/lib/monitoring or the metric
// definition files record.mjs loads. Importing it anyway is a mistake, so say so loudly.
throw new Error("stub package @chainsafe/enr was imported; record.mjs must only load lib/monitoring and lib/metrics files");
