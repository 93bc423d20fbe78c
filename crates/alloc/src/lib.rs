//! The process's allocator. Every binary names this crate (`use mash_alloc as _;`) so that
//! all of them allocate alike.
//!
//! A check allocates and frees many small buffers on several threads at once (protobuf
//! messages, TLS records, SQLite's pages and values). Under glibc's allocator a third of the
//! CPU at 32 checks in flight was `malloc` and `free`, much of it consolidating fast bins
//! whenever a larger block was asked for; jemalloc took a quarter off the CPU per check
//! (BENCHMARKS.md, session 9). The `unprefixed` feature makes it the C `malloc` as well, so
//! SQLite's pages and values come from it too.

#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;
