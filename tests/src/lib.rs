//! End-to-end harness: the whole system in-process with real certificates, and the benchmark.
